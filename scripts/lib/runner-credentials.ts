// Runner credentials in Postgres (runner_credentials), for the admin CLI and the local stacks: issue,
// list, revoke. At most MAX_ACTIVE_PER_RUNNER unrevoked tokens per runner at once (rotation: issue the new
// one, restart the runner with it, revoke the old one). The Scheduler picks changes up within one
// reconcile pass (SCHEDULER_RECONCILE_MS, 5 s by default) and closes the link of a runner whose token
// was revoked (docs/security.md).
import { and, asc, eq, inArray, isNull, ne, sql } from 'drizzle-orm';
import { runnerCredentials } from '../../drizzle/schema';
import { newRunnerToken } from '../../protocol/runner-token';
import { openDb, type NodeDb } from './database';

export const MAX_ACTIVE_PER_RUNNER = 2;

export interface IssuedRunnerCredential {
  credentialId: string;
  runnerId: string;
  name: string;
  token: string;
}

export interface IssueOptions {
  name?: string;
  /** Revoke the runner's other unrevoked credentials of the same name first (the local stacks, on every start). */
  replaceSameName?: boolean;
}

export async function issueRunnerCredential(db: NodeDb, runnerId: string, opts: IssueOptions = {}): Promise<IssuedRunnerCredential> {
  const name = opts.name ?? 'cli';
  const issued = await newRunnerToken(runnerId);
  const id = await db.transaction(async (tx) => {
    // One issuer at a time per runner, so two concurrent issues cannot both pass the count below.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`runner_credentials:${runnerId}`}))`);
    if (opts.replaceSameName) {
      await tx
        .update(runnerCredentials)
        .set({ revokedAt: new Date() })
        .where(and(eq(runnerCredentials.runnerId, runnerId), eq(runnerCredentials.name, name), isNull(runnerCredentials.revokedAt)));
    }
    const active = await tx
      .select({ id: runnerCredentials.id })
      .from(runnerCredentials)
      .where(and(eq(runnerCredentials.runnerId, runnerId), isNull(runnerCredentials.revokedAt)));
    if (active.length >= MAX_ACTIVE_PER_RUNNER) {
      throw new Error(
        `runner ${runnerId} already has ${active.length} valid tokens (at most ${MAX_ACTIVE_PER_RUNNER}): revoke one first (list-runner-tokens --runner ${runnerId}, revoke-runner-token --id ID)`,
      );
    }
    const [row] = await tx
      .insert(runnerCredentials)
      .values({ runnerId, name, hint: issued.hint, tokenHash: issued.hash })
      .returning({ id: runnerCredentials.id });
    return row!.id;
  });
  return { credentialId: id, runnerId, name, token: issued.token };
}

export async function listRunnerCredentials(db: NodeDb, filter: { runnerId?: string; includeRevoked?: boolean } = {}) {
  const where = and(
    filter.runnerId === undefined ? undefined : eq(runnerCredentials.runnerId, filter.runnerId),
    filter.includeRevoked ? undefined : isNull(runnerCredentials.revokedAt),
  );
  return db
    .select({
      id: runnerCredentials.id,
      runnerId: runnerCredentials.runnerId,
      name: runnerCredentials.name,
      hint: runnerCredentials.hint,
      createdAt: runnerCredentials.createdAt,
      revokedAt: runnerCredentials.revokedAt,
    })
    .from(runnerCredentials)
    .where(where)
    .orderBy(asc(runnerCredentials.runnerId), asc(runnerCredentials.createdAt));
}

/** Revokes credentials by id, or every unrevoked one of a runner (optionally all but `keep`); answers the ids revoked. */
export async function revokeRunnerCredentials(db: NodeDb, which: { ids?: string[]; runnerId?: string; keep?: string }): Promise<string[]> {
  if (!which.ids?.length && !which.runnerId) throw new Error('revoke needs credential ids or a runner id');
  const rows = await db
    .update(runnerCredentials)
    .set({ revokedAt: new Date() })
    .where(
      and(
        isNull(runnerCredentials.revokedAt),
        which.ids?.length ? inArray(runnerCredentials.id, which.ids) : undefined,
        which.runnerId ? eq(runnerCredentials.runnerId, which.runnerId) : undefined,
        which.keep ? ne(runnerCredentials.id, which.keep) : undefined,
      ),
    )
    .returning({ id: runnerCredentials.id });
  return rows.map((r) => r.id);
}

/**
 * Tokens for the runners a local stack (dev, tests, benchmarks) starts: one credential per runner id,
 * issued on first use and kept for the stack's life, so a restarted runner presents the same one.
 */
export function runnerTokens(databaseUrl: string | (() => NodeDb), name: string) {
  const issued = new Map<string, Promise<string>>();
  return (runnerId: string): Promise<string> => {
    let token = issued.get(runnerId);
    if (!token) {
      token = (async () => {
        const db = typeof databaseUrl === 'string' ? openDb(databaseUrl) : databaseUrl();
        try {
          return (await issueRunnerCredential(db, runnerId, { name, replaceSameName: true })).token;
        } finally {
          if (typeof databaseUrl === 'string') await db.$client.end();
        }
      })();
      token.catch(() => issued.delete(runnerId));
      issued.set(runnerId, token);
    }
    return token;
  };
}
