// Cursors come back from clients: anything but one of ours is a 400, never a query Postgres refuses (a 500).
import { describe, expect, it } from 'vitest';
import { ApiError } from '../http/errors';
import { decodeCursor, encodeCursor } from './pagination';

const b64 = (text: string) => Buffer.from(text).toString('base64url');
const refused = (raw: string, kind: 'uuid' | 'serial') => {
  try {
    decodeCursor(raw, kind);
  } catch (e) {
    return e instanceof ApiError && e.status === 400;
  }
  return false;
};

describe('decodeCursor', () => {
  it('reads back what encodeCursor wrote, for either kind of id', () => {
    const at = new Date('2026-12-03T10:00:00.123Z');
    expect(decodeCursor(encodeCursor(at, 42), 'serial')).toEqual({ at, id: '42' });
    const id = '0b7c9a4e-1f2d-4c3b-8a9e-123456789abc';
    expect(decodeCursor(encodeCursor(at, id), 'uuid')).toEqual({ at, id });
    expect(decodeCursor(undefined, 'uuid')).toBeUndefined();
  });

  it('refuses an id of the wrong kind, a time no Date holds, and what is not a cursor at all', () => {
    for (const raw of [b64('0.a'), b64('0.-'), b64('0.0'), b64('1.12345678901234567890'), b64(`0.${'0b7c9a4e-1f2d-4c3b-8a9e-123456789abc'}`)]) {
      expect(refused(raw, 'serial'), Buffer.from(raw, 'base64url').toString()).toBe(true);
    }
    for (const raw of [b64('0.0'), b64('0.a'), b64('0.0b7c9a4e'), b64('0.42')]) expect(refused(raw, 'uuid')).toBe(true);
    for (const raw of [b64(`${8.64e15 + 1}.1`), b64(`${-8.64e15 - 1}.1`), b64('-62135596800001.1'), b64('-1.1'), b64('253402300800000.1'), b64('.1'), '!!!!', '', 'MC4w=']) {
      expect(refused(raw, 'serial'), raw).toBe(true);
    }
  });
});
