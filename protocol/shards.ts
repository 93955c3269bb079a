// Which Scheduler shard owns a connection. The control plane routes a connection's commands to its shard,
// each shard places and fences only its own connections, and a runner links to every shard (it learns how
// many from the first shard's welcome). Both sides must agree, so the rule lives here, and Postgres applies
// the same rule when a shard reads the connections it should run (worker/scheduler/desired.ts).
//
// The rule: the first 32 bits of the connection's UUID (random for v4, from gen_random_uuid()) mod the
// shard count. Changing the count moves connections between shards as a Scheduler restart would: the new
// shard grants under a higher epoch, the old one revokes.

/** The highest shard count accepted (a runner keeps one link per shard). */
export const MAX_SCHEDULER_SHARDS = 64;

export function shardOf(connectionPk: string, shards: number): number {
  if (shards <= 1) return 0;
  const head = Number.parseInt(connectionPk.replace(/-/g, '').slice(0, 8), 16);
  return Number.isFinite(head) ? head % shards : 0;
}

/** Shard 0 keeps the name the single Scheduler always had, so its state survives turning sharding on. */
export const schedulerShardName = (shard: number) => (shard === 0 ? 'scheduler' : `scheduler-${shard}`);

/** SCHEDULER_SHARDS as configured: 1 (no sharding) when unset; anything but a whole number in range is refused. */
export function shardCount(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 1;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_SCHEDULER_SHARDS) {
    throw new Error(`SCHEDULER_SHARDS must be a whole number from 1 to ${MAX_SCHEDULER_SHARDS}, not ${JSON.stringify(raw)}`);
  }
  return n;
}
