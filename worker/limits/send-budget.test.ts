import { describe, expect, it } from 'vitest';
import { SendBudgets } from './send-budget';

describe('tenant send budgets', () => {
  it('give each tenant its own minute', () => {
    let now = 0;
    const budgets = new SendBudgets(() => now);
    expect([1, 2, 3].map(() => budgets.take('a', 2).allowed)).toEqual([true, true, false]);
    expect(budgets.take('a', 2).retryAfterSeconds).toBe(30);
    expect(budgets.take('b', 2).allowed).toBe(true);
    now = 30_000;
    expect(budgets.take('a', 2).allowed).toBe(true);
  });

  it('allow nothing at 0', () => {
    expect(new SendBudgets().take('a', 0)).toMatchObject({ allowed: false, retryAfterSeconds: 60 });
  });
});
