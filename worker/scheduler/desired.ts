// What the Scheduler reads from and writes to Postgres: which connections should be running, and the
// mirror of each lease (holder + epoch) that the runner-facing routes check for fencing.
import { and, eq, gt, isNotNull, lt, notInArray, or, sql } from 'drizzle-orm';
import { connections } from '../../drizzle/schema';
import type { Db } from '../data/db';

/** How long an unlinked connection keeps running after someone asked for a QR or pairing code. */
export const START_REQUEST_TTL_MINUTES = 10;

export interface DesiredConnection {
  connectionPk: string;
  tenantId: string;
  connectionId: string;
  leaseEpoch: number;
}

/** Linked connections run until logged out or replaced; unlinked ones run while a start request is fresh. */
export async function desiredConnections(db: Db): Promise<DesiredConnection[]> {
  const rows = await db
    .select({ id: connections.id, tenantId: connections.tenantId, connectionId: connections.connectionId, leaseEpoch: connections.leaseEpoch })
    .from(connections)
    .where(
      and(
        notInArray(connections.status, ['logged_out', 'replaced']),
        or(
          isNotNull(connections.linkedAt),
          gt(connections.startRequestedAt, sql`now() - make_interval(mins => ${START_REQUEST_TTL_MINUTES})`),
        ),
      ),
    );
  return rows.map((r) => ({ connectionPk: r.id, tenantId: r.tenantId, connectionId: r.connectionId, leaseEpoch: r.leaseEpoch }));
}

/** Mirrors a grant (or a release, runnerId null) into Postgres; never lowers the epoch. */
export async function recordLease(db: Db, connectionPk: string, runnerId: string | null, epoch: number): Promise<boolean> {
  const rows = await db
    .update(connections)
    .set({ leaseRunnerId: runnerId, leaseEpoch: epoch })
    .where(and(eq(connections.id, connectionPk), or(lt(connections.leaseEpoch, epoch), eq(connections.leaseEpoch, epoch))))
    .returning({ id: connections.id });
  return rows.length > 0;
}
