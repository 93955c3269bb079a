// Fencing for runner writes: a write about a connection is accepted only from the runner holding the
// connection's lease, under its current epoch. Two sources of it:
// - the Scheduler, where leases live (and which remembers who held recent epochs), on every runner call
//   (runner-auth.ts): a Postgres outage must not stop runners handing over what they received (the events
//   consumer drops what belongs to a deleted connection);
// - Postgres as well (the Scheduler mirrors every grant into connections.lease_runner_id/lease_epoch before
//   sending it) for auth state, where a connection deleted a moment ago must be refused at once, or a late
//   flush re-creates it.
import { inArray } from 'drizzle-orm';
import { connections } from '../../drizzle/schema';
import type { Db } from '../data/db';

export interface LeaseView {
  connectionPk: string;
  tenantId: string;
  leaseEpoch: number;
  leaseRunnerId: string | null;
}

/** The leases as Postgres mirrors them (absent: the connection does not exist, or was deleted). */
export async function storedLeaseViews(db: Db, connectionPks: string[]): Promise<Map<string, LeaseView>> {
  if (connectionPks.length === 0) return new Map();
  const rows = await db
    .select({ connectionPk: connections.id, tenantId: connections.tenantId, leaseEpoch: connections.leaseEpoch, leaseRunnerId: connections.leaseRunnerId })
    .from(connections)
    .where(inArray(connections.id, connectionPks));
  return new Map(rows.map((r) => [r.connectionPk, r]));
}

export type LeaseVerdict = { ok: true; view: LeaseView } | { ok: false; reason: 'stale_epoch' | 'unknown_connection' };

export function checkEpoch(view: LeaseView | undefined, epoch: number): LeaseVerdict {
  if (!view) return { ok: false, reason: 'unknown_connection' };
  if (view.leaseEpoch !== epoch) return { ok: false, reason: 'stale_epoch' };
  return { ok: true, view };
}
