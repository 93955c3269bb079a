import { describe, expect, it } from 'vitest';
import { parseRule, takeTokens } from './token-bucket';

const rule = { limit: 3, windowSeconds: 60 };

describe('token bucket', () => {
  it('allows the burst, then refuses until a token has come back', () => {
    let bucket;
    const decisions = [];
    for (let i = 0; i < 4; i++) {
      const r = takeTokens(bucket, rule, 1_000);
      bucket = r.bucket;
      decisions.push(r.decision);
    }
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([2, 1, 0, 0]);
    expect(decisions[3]).toMatchObject({ limit: 3, retryAfterSeconds: 20, resetSeconds: 60 });
    // 20 s later one token is back.
    expect(takeTokens(bucket, rule, 21_000).decision).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('never holds more than the limit, however long it was idle', () => {
    const { decision } = takeTokens({ tokens: 0, at: 0 }, rule, 10 * 60_000);
    expect(decision).toMatchObject({ allowed: true, remaining: 2, resetSeconds: 20 });
  });

  it('parses count/seconds, falling back on anything else', () => {
    expect(parseRule('600/60', rule)).toEqual({ limit: 600, windowSeconds: 60 });
    expect(parseRule(' 5 / 1 ', rule)).toEqual({ limit: 5, windowSeconds: 1 });
    for (const bad of [undefined, '', '0/60', '10', 'x/y', '5/0']) expect(parseRule(bad, rule)).toBe(rule);
  });
});
