import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE, MAX_QUEUE_DELAY_SECONDS, parseRetrySchedule, retryDelaySeconds } from './schedule';

describe('webhook retry schedule', () => {
  it('starts within seconds and reaches about a day in all', () => {
    expect(DEFAULT_RETRY_SCHEDULE[0]).toBeLessThanOrEqual(10);
    const total = DEFAULT_RETRY_SCHEDULE.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(20 * 3600);
    expect(total).toBeLessThan(28 * 3600);
    expect(Math.max(...DEFAULT_RETRY_SCHEDULE)).toBeLessThanOrEqual(MAX_QUEUE_DELAY_SECONDS);
  });

  it('jitters each delay within ±20 % and ends after the last step', () => {
    const s = [100, 1000];
    expect(retryDelaySeconds(s, 1, () => 0)).toBe(80);
    expect(retryDelaySeconds(s, 1, () => 1)).toBe(120);
    expect(retryDelaySeconds(s, 2, () => 0.5)).toBe(1000);
    expect(retryDelaySeconds(s, 3)).toBeNull();
  });

  it('never asks the queue for more than its 12-hour maximum delay', () => {
    expect(retryDelaySeconds([MAX_QUEUE_DELAY_SECONDS], 1, () => 1)).toBe(MAX_QUEUE_DELAY_SECONDS);
  });

  it('reads WEBHOOK_RETRY_SCHEDULE, and refuses nonsense', () => {
    expect(parseRetrySchedule('1, 2,3')).toEqual([1, 2, 3]);
    expect(parseRetrySchedule('')).toBe(DEFAULT_RETRY_SCHEDULE);
    expect(() => parseRetrySchedule('1,x')).toThrow();
    expect(() => parseRetrySchedule('-1')).toThrow();
    expect(() => parseRetrySchedule('50000')).toThrow();
  });
});
