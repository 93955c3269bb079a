import { describe, expect, it } from 'vitest';
import { pickRunner } from './placement';
import type { RunnerRow } from './types';

const runner = (id: string, capacity: number, extra: Partial<RunnerRow> = {}): RunnerRow => ({
  runner_id: id,
  capacity,
  connected: 1,
  draining: 0,
  last_seen_at: 0,
  disconnected_at: null,
  ...extra,
});

describe('placement', () => {
  it('picks the runner with the lowest load relative to its capacity', () => {
    const load = new Map([
      ['a', 5],
      ['b', 5],
    ]);
    expect(pickRunner([runner('a', 10), runner('b', 100)], load)).toBe('b');
  });

  it('skips full, draining and disconnected runners', () => {
    const load = new Map([['full', 2]]);
    const runners = [runner('full', 2), runner('drain', 10, { draining: 1 }), runner('gone', 10, { connected: 0 })];
    expect(pickRunner(runners, load)).toBeUndefined();
    expect(pickRunner([...runners, runner('ok', 1)], load)).toBe('ok');
  });

  it('can exclude the runner a connection is moving away from', () => {
    expect(pickRunner([runner('a', 10), runner('b', 10)], new Map(), 'a')).toBe('b');
  });
});
