import { describe, expect, it } from 'vitest';
import { SendPacer, parsePace } from './send-pacing';

const rule = { ratePerSecond: 2, burst: 2, jitterMs: 0, maxWaitMs: 2_000 };

describe('send pacing', () => {
  it('lets the burst go at once, then spaces sends one interval apart', () => {
    const pacer = new SendPacer(rule, () => 0);
    const waits = [1, 2, 3, 4, 5].map(() => pacer.reserve());
    expect(waits).toEqual([
      { ok: true, waitMs: 0 },
      { ok: true, waitMs: 0 },
      { ok: true, waitMs: 500 },
      { ok: true, waitMs: 1000 },
      { ok: true, waitMs: 1500 },
    ]);
  });

  it('refuses a send that would wait past the bound, saying when it would be taken, and books nothing for it', () => {
    let now = 0;
    const pacer = new SendPacer(rule, () => now);
    for (let i = 0; i < 6; i++) expect(pacer.reserve().ok).toBe(true); // 0, 0, 500, 1000, 1500, 2000
    expect(pacer.reserve()).toEqual({ ok: false, retryAfterMs: 500 });
    expect(pacer.reserve()).toEqual({ ok: false, retryAfterMs: 500 });
    now = 500;
    expect(pacer.reserve()).toEqual({ ok: true, waitMs: 2000 });
  });

  it('never waits past a shorter bound given by the caller (the control plane\'s timeout)', () => {
    const pacer = new SendPacer(rule, () => 0);
    pacer.reserve();
    pacer.reserve();
    expect(pacer.reserve(400)).toEqual({ ok: false, retryAfterMs: 100 });
  });

  it('adds jitter to paced sends, and the next one owes it', () => {
    const pacer = new SendPacer({ ...rule, burst: 1, jitterMs: 400 }, () => 0, () => 0.5);
    expect(pacer.reserve()).toEqual({ ok: true, waitMs: 0 });
    expect(pacer.reserve()).toEqual({ ok: true, waitMs: 700 });
    expect(pacer.reserve()).toEqual({ ok: true, waitMs: 1400 });
  });

  it('parses count/seconds and off', () => {
    expect(parsePace('20/60')).toEqual({ ratePerSecond: 1 / 3 });
    expect(parsePace('off')).toBeUndefined();
    for (const bad of ['', '0/60', 'x', '5/0']) expect(parsePace(bad)).toBeNull();
  });
});
