// Runner credentials as the Scheduler verifies them. Why here and not in Postgres on every call: event
// intake must keep working while Postgres is down (docs/security.md, test/faults/postgres-outage.test.ts),
// and the Scheduler is already on that path (intake checks leases there). So the Scheduler keeps a mirror
// of the unrevoked credentials' hashes in its own storage, refreshed from Postgres on every reconcile pass
// (SCHEDULER_RECONCILE_MS, 5 s by default): that pass is also what bounds how long a revoked token keeps
// working, and it closes the links opened with a token that is no longer valid. A token not in the mirror
// (issued since the last pass) is looked up in Postgres for its runner id alone, within a small budget, so
// a freshly issued token works at once and a flood of made-up tokens cannot flood Postgres.
import { and, eq, isNull } from 'drizzle-orm';
import { runnerCredentials } from '../../drizzle/schema';
import type { Db } from '../data/db';
import type { CredentialRow } from './types';

/** Unrevoked credentials in Postgres: all of them, or one runner's. */
export async function activeCredentials(db: Db, runnerId?: string): Promise<CredentialRow[]> {
  const rows = await db
    .select({ credential_id: runnerCredentials.id, runner_id: runnerCredentials.runnerId, token_hash: runnerCredentials.tokenHash })
    .from(runnerCredentials)
    .where(and(isNull(runnerCredentials.revokedAt), runnerId === undefined ? undefined : eq(runnerCredentials.runnerId, runnerId)));
  return rows;
}

/** A token bucket: at most `perSecond` takes a second on average, `burst` at once. */
export class Budget {
  private tokens: number;
  private at = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** How the Scheduler judges a runner's claim to a connection at an epoch. */
export type ClaimVerdict =
  /** The epoch is the connection's current one and it was granted to this runner. */
  | 'holder'
  /** This runner was granted that epoch, but the lease has moved on since (a newer epoch exists). */
  | 'former_holder'
  /** That epoch was never granted to this runner (another runner's, or never granted, or forgotten). */
  | 'not_holder'
  /** The Scheduler knows no lease of this connection (it does not exist, was deleted, or never ran). */
  | 'unknown_connection';

export interface ClaimAnswer {
  connectionPk: string;
  epoch: number;
  verdict: ClaimVerdict;
  /** Known whenever the verdict is not unknown_connection. */
  tenantId?: string;
}

export type RunnerAuthorization = { ok: false } | { ok: true; credentialId: string; claims: ClaimAnswer[] };
