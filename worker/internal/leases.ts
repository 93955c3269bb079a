// Fencing for runner writes: a write about a connection is accepted only under the connection's current
// lease epoch (the Scheduler mirrors every grant into connections.lease_epoch before sending it).
import { inArray } from 'drizzle-orm';
import { connections } from '../../drizzle/schema';
import type { Db } from '../data/db';

export interface LeaseView {
  connectionPk: string;
  tenantId: string;
  leaseEpoch: number;
}

export async function leaseViews(db: Db, connectionPks: string[]): Promise<Map<string, LeaseView>> {
  if (connectionPks.length === 0) return new Map();
  const rows = await db
    .select({ connectionPk: connections.id, tenantId: connections.tenantId, leaseEpoch: connections.leaseEpoch })
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
