// Where a connection should run: the live, non-draining runner with room and the lowest relative load.
import type { RunnerRow } from './types';

export function pickRunner(runners: RunnerRow[], load: Map<string, number>, exclude?: string): string | undefined {
  let best: { id: string; ratio: number; used: number } | undefined;
  for (const r of runners) {
    if (!r.connected || r.draining || r.runner_id === exclude) continue;
    const used = load.get(r.runner_id) ?? 0;
    if (used >= r.capacity) continue;
    const ratio = used / r.capacity;
    if (!best || ratio < best.ratio || (ratio === best.ratio && used < best.used)) best = { id: r.runner_id, ratio, used };
  }
  return best?.id;
}
