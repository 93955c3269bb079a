// What the Scheduler reads from and writes to Postgres: which connections should be running, and the
// mirror of each lease (holder + epoch) that the runner-facing routes check for fencing.
import { and, gt, isNotNull, notInArray, or, sql } from 'drizzle-orm';
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

/** Which part of the connections a Scheduler shard owns (protocol/shards.ts). */
export interface ShardSlice {
  shard: number;
  shards: number;
}

/** protocol/shards.ts's shardOf in SQL: the UUID's first 32 bits, mod the shard count. */
const inShard = ({ shard, shards }: ShardSlice) =>
  sql`('x' || substr(replace(${connections.id}::text, '-', ''), 1, 8))::bit(32)::bigint % ${shards} = ${shard}`;

/** Linked connections run until logged out or replaced; unlinked ones run while a start request is fresh. */
export async function desiredConnections(db: Db, slice: ShardSlice = { shard: 0, shards: 1 }): Promise<DesiredConnection[]> {
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
        slice.shards > 1 ? inShard(slice) : undefined,
      ),
    );
  return rows.map((r) => ({ connectionPk: r.id, tenantId: r.tenantId, connectionId: r.connectionId, leaseEpoch: r.leaseEpoch }));
}

export interface LeaseRecord {
  connectionPk: string;
  runnerId: string;
  epoch: number;
}

/** Grants per statement: a restore places hundreds at once, one round trip each would add up to seconds. */
const GRANTS_PER_STATEMENT = 500;

/**
 * Mirrors grants into Postgres before they are sent (fencing); only ever raises an epoch. Answers the
 * connections whose grant was recorded: one missing raced with a newer epoch (or was deleted). Equal is a
 * race too: a logout or delete fences by raising the epoch itself, and a grant computed before it (from
 * the epoch it replaced) must not land on the fenced epoch.
 */
export async function recordLeases(db: Db, grants: readonly LeaseRecord[]): Promise<Set<string>> {
  const recorded = new Set<string>();
  for (let i = 0; i < grants.length; i += GRANTS_PER_STATEMENT) {
    const rows = grants.slice(i, i + GRANTS_PER_STATEMENT).map((g) => sql`(${g.connectionPk}::uuid, ${g.runnerId}::text, ${g.epoch}::bigint)`);
    const result = await db.execute<{ id: string }>(sql`
      update ${connections} as c set lease_runner_id = v.runner_id, lease_epoch = v.epoch
      from (values ${sql.join(rows, sql`, `)}) as v(id, runner_id, epoch)
      where c.id = v.id and c.lease_epoch < v.epoch
      returning c.id`);
    for (const r of result.rows) recorded.add(r.id);
  }
  return recorded;
}
