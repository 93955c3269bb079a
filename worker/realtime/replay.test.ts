import { describe, expect, it } from 'vitest';
import { BUFFER_MAX_AGE_MS, BUFFER_MAX_EVENTS, planReplay, pruneBounds } from './replay';

describe('what a reconnecting client is owed', () => {
  it('nothing without since, or when it is up to date', () => {
    expect(planReplay(undefined, 10, 1)).toEqual({ kind: 'none' });
    expect(planReplay(10, 10, 1)).toEqual({ kind: 'none' });
    expect(planReplay(0, 0, undefined)).toEqual({ kind: 'none' });
  });

  it('the frames after since while the buffer still holds the next one', () => {
    expect(planReplay(5, 10, 1)).toEqual({ kind: 'replay', after: 5 });
    expect(planReplay(5, 10, 6)).toEqual({ kind: 'replay', after: 5 });
    expect(planReplay(0, 3, 1)).toEqual({ kind: 'replay', after: 0 });
  });

  it('a resync once frames after since were dropped', () => {
    expect(planReplay(5, 10, 7)).toEqual({ kind: 'resync', reason: 'buffer_exceeded', oldest: 7 });
    // Everything aged out: nothing to name as the oldest.
    expect(planReplay(5, 10, undefined)).toEqual({ kind: 'resync', reason: 'buffer_exceeded' });
  });

  it('a resync for a since this stream never issued', () => {
    expect(planReplay(11, 10, 1)).toEqual({ kind: 'resync', reason: 'unknown_sequence', oldest: 1 });
    expect(planReplay(3, 0, undefined)).toEqual({ kind: 'resync', reason: 'unknown_sequence' });
  });

  it('keeps the last 1,000 events and 10 minutes, whichever is less', () => {
    expect(pruneBounds(1500, 1_000_000)).toEqual({ maxDroppedSequence: 1500 - BUFFER_MAX_EVENTS, minAt: 1_000_000 - BUFFER_MAX_AGE_MS });
    expect(BUFFER_MAX_EVENTS).toBe(1000);
    expect(BUFFER_MAX_AGE_MS).toBe(600_000);
  });
});
