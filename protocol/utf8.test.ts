import { describe, expect, it } from 'vitest';
import { jsonBytes, truncateUtf8, utf8Bytes } from './utf8';

describe('UTF-8 sizes', () => {
  it('count bytes, not characters', () => {
    expect(utf8Bytes('中'.repeat(45_000))).toBe(135_000);
    expect('中'.repeat(45_000).length).toBe(45_000);
    expect(utf8Bytes('👋')).toBe(4);
    expect(jsonBytes({ t: 'é' })).toBe(10);
  });

  it('truncate on character boundaries, emoji pairs included', () => {
    expect(truncateUtf8('中中中', 7)).toBe('中中');
    expect(truncateUtf8('a👋b', 4)).toBe('a');
    expect(truncateUtf8('a👋b', 5)).toBe('a👋');
    expect(truncateUtf8('short', 100)).toBe('short');
    const cut = truncateUtf8('中'.repeat(100_000), 256 * 1024);
    expect(utf8Bytes(cut)).toBeLessThanOrEqual(256 * 1024);
    expect(utf8Bytes(cut)).toBeGreaterThan(256 * 1024 - 3);
  });
});
