// Child processes started in their own process group (detached): signal the whole group (so their own
// children, e.g. wrangler's workerd, go too), and never leave one behind when this process exits.
import type { ChildProcess } from 'node:child_process';

/** Signals the child's process group; false when it is already gone. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): boolean {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Last resort for when this process exits without stopping the child (a crash, a library calling
 * process.exit first, a signal during start-up): signal its group, SIGKILL unless told otherwise (a
 * database is better told to shut down fast). Disarmed automatically when the child exits on its own.
 */
export function killGroupOnExit(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  const kill = () => void signalGroup(child, signal);
  process.once('exit', kill);
  child.once('exit', () => process.off('exit', kill));
}
