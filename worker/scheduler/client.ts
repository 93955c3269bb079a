// The Scheduler, as the Worker reaches it: SCHEDULER_SHARDS instances (one by default), each owning the
// connections protocol/shards.ts assigns it.
import type { Command } from '../../protocol/runner';
import { schedulerShardName, shardCount, shardOf } from '../../protocol/shards';
import type { Env } from '../env';
import { limiterOf } from '../limits/limiter-of';
import { sendQuotaSpent, type Admission } from './admission';
import type { CommandOutcome } from './scheduler';

type SchedulerEnv = Pick<Env, 'SCHEDULER' | 'SCHEDULER_SHARDS' | 'RATE_LIMITER'>;

export const shardsOf = (env: Pick<Env, 'SCHEDULER_SHARDS'>) => shardCount(env.SCHEDULER_SHARDS);

/** Shard `shard` of the Scheduler (0, the only one without sharding, when not given). */
export function schedulerOf(env: Pick<Env, 'SCHEDULER'>, shard = 0) {
  return env.SCHEDULER.get(env.SCHEDULER.idFromName(schedulerShardName(shard)));
}

/** The shard that owns this connection. */
export const schedulerFor = (env: SchedulerEnv, connectionPk: string) => schedulerOf(env, shardOf(connectionPk, shardsOf(env)));

/** Re-evaluate this connection's placement now (it was created, deleted, asked to start…). */
export function poke(env: SchedulerEnv, connectionPk: string) {
  const shard = shardOf(connectionPk, shardsOf(env));
  return schedulerOf(env, shard).poke(shard);
}

/**
 * Routes a command to the connection's runner. If the Scheduler itself is interrupted (a deploy resets
 * the object mid-call) the outcome is unknown, like a runner timeout: the caller must not assume either way.
 */
export async function runCommand(
  env: SchedulerEnv,
  connectionPk: string,
  command: Command,
  timeoutMs: number,
  admission?: Admission,
): Promise<CommandOutcome> {
  try {
    if (command.name === 'send' && admission?.sendsPerMinute !== undefined && shardsOf(env) > 1) {
      // A tenant's connections are spread over the shards, so no shard sees all of its sends: its minute is
      // counted by a limiter of its own instead (one more hop per send, only when sharded).
      const refused = await tenantSendsSpent(env, admission.tenantId, admission.sendsPerMinute);
      if (refused) return refused;
      admission = undefined;
    }
    return await schedulerFor(env, connectionPk).command(connectionPk, command, timeoutMs, admission);
  } catch (e) {
    return { ok: false, error: { code: 'timeout', message: `The scheduler was interrupted: ${e instanceof Error ? e.message : String(e)}` } };
  }
}

/** The refusal of a send past the tenant's minute, or undefined when one more is allowed. */
async function tenantSendsSpent(env: SchedulerEnv, tenantId: string, perMinute: number): Promise<CommandOutcome | undefined> {
  const retryAfterSeconds =
    perMinute > 0 ? await limiterOf(env, `sends:${tenantId}`).take({ limit: perMinute, windowSeconds: 60 }).then((d) => (d.allowed ? 0 : d.retryAfterSeconds)) : 60;
  return retryAfterSeconds ? sendQuotaSpent(perMinute, retryAfterSeconds) : undefined;
}
