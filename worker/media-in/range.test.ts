import { describe, expect, it } from 'vitest';
import { parseRange } from './range';

describe('range requests on a 1000-byte file', () => {
  it('answer the bytes asked for, with their Content-Range', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual({ kind: 'partial', offset: 0, length: 100, contentRange: 'bytes 0-99/1000' });
    expect(parseRange('bytes=900-', 1000)).toEqual({ kind: 'partial', offset: 900, length: 100, contentRange: 'bytes 900-999/1000' });
    expect(parseRange('bytes=-10', 1000)).toEqual({ kind: 'partial', offset: 990, length: 10, contentRange: 'bytes 990-999/1000' });
    expect(parseRange('bytes=500-5000', 1000)).toEqual({ kind: 'partial', offset: 500, length: 500, contentRange: 'bytes 500-999/1000' });
  });

  it('answer the whole file when no range, all of it, or a range we do not serve is asked', () => {
    for (const h of [undefined, '', 'bytes=0-999', 'bytes=0-', 'bytes=-2000', 'items=0-9', 'bytes=0-9,20-29', 'bytes=-', 'bytes=9-3']) {
      expect(parseRange(h, 1000)).toEqual({ kind: 'whole' });
    }
  });

  it('refuse a range past the end (416 with the size)', () => {
    expect(parseRange('bytes=1000-', 1000)).toEqual({ kind: 'unsatisfiable', contentRange: 'bytes */1000' });
    expect(parseRange('bytes=5000-6000', 1000)).toEqual({ kind: 'unsatisfiable', contentRange: 'bytes */1000' });
    expect(parseRange('bytes=-0', 1000)).toEqual({ kind: 'unsatisfiable', contentRange: 'bytes */1000' });
    expect(parseRange('bytes=0-0', 0)).toEqual({ kind: 'unsatisfiable', contentRange: 'bytes */0' });
  });
});
