import { describe, expect, it } from 'vitest';
import { Memo } from './memo.js';

describe('Memo', () => {
  it('peek sees only answers still believed; forget drops one', async () => {
    let now = 0;
    const memo = new Memo<string>({ ttlMs: () => 100, maxEntries: 10, now: () => now });
    expect(memo.peek('a')).toBeUndefined();
    await memo.get('a', async () => 'A');
    expect(memo.peek('a')).toBe('A');
    now = 100;
    expect(memo.peek('a')).toBeUndefined();
    await memo.get('a', async () => 'A2');
    memo.forget('a');
    expect(memo.peek('a')).toBeUndefined();
    expect(await memo.get('a', async () => 'A3')).toBe('A3');
  });
});
