// The one Scheduler instance, as the Worker reaches it.
import type { Command } from '../../protocol/runner';
import type { Env } from '../env';
import type { Admission, CommandOutcome } from './scheduler';

export function schedulerOf(env: Pick<Env, 'SCHEDULER'>) {
  return env.SCHEDULER.get(env.SCHEDULER.idFromName('scheduler'));
}

/**
 * Routes a command to the connection's runner. If the Scheduler itself is interrupted (a deploy resets
 * the object mid-call) the outcome is unknown, like a runner timeout: the caller must not assume either way.
 */
export async function runCommand(
  env: Pick<Env, 'SCHEDULER'>,
  connectionPk: string,
  command: Command,
  timeoutMs: number,
  admission?: Admission,
): Promise<CommandOutcome> {
  try {
    return await schedulerOf(env).command(connectionPk, command, timeoutMs, admission);
  } catch (e) {
    return { ok: false, error: { code: 'timeout', message: `The scheduler was interrupted: ${e instanceof Error ? e.message : String(e)}` } };
  }
}
