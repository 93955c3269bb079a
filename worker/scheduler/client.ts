// The one Scheduler instance, as the Worker reaches it.
import type { Env } from '../env';

export function schedulerOf(env: Pick<Env, 'SCHEDULER'>) {
  return env.SCHEDULER.get(env.SCHEDULER.idFromName('scheduler'));
}
