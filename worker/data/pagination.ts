// Keyset pagination for newest-first lists: a cursor names the last row of a page by (time, id), and the
// next page holds the rows strictly older than it. Cursors are opaque to clients.
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { ApiError } from '../http/errors';

export interface Cursor {
  at: Date;
  id: string;
}

export function encodeCursor(at: Date, id: string | number): string {
  return btoa(`${at.getTime()}.${id}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** 9999-12-31T23:59:59.999Z: later (or before 1970) is no time of ours, and Postgres refuses year 0 and below. */
const LAST_MS = 253_402_300_799_999;

/** How a list's rows are keyed: a cursor's id must be one Postgres can compare with that column. */
export type CursorIdKind = 'uuid' | 'serial' | 'jid';
const CURSOR_IDS: Record<CursorIdKind, RegExp> = {
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  // bigserial, kept within what JavaScript numbers hold exactly (the ids are read back as numbers)
  serial: /^[1-9]\d{0,14}$/,
  // a WhatsApp JID (contacts are keyed by one): printable ASCII
  jid: /^[\x21-\x7e]{1,128}$/,
};

/**
 * The cursor, or a 400: anything a client could have altered is checked here, so a cursor that was not
 * ours (an id of the wrong kind, a time no Date holds) never reaches the database as a 500.
 */
export function decodeCursor(raw: string | undefined, idKind: CursorIdKind): Cursor | undefined {
  if (raw === undefined) return undefined;
  try {
    const text = atob(raw.replace(/-/g, '+').replace(/_/g, '/'));
    const dot = text.indexOf('.');
    const ms = Number(text.slice(0, dot));
    const id = text.slice(dot + 1);
    const at = new Date(ms);
    if (dot > 0 && Number.isSafeInteger(ms) && ms >= 0 && ms <= LAST_MS && CURSOR_IDS[idKind].test(id)) return { at, id };
  } catch {
    // fall through
  }
  throw new ApiError(400, 'validation_failed', 'The cursor is not valid; use the X-Next-Cursor of a previous page.');
}

/** Rows strictly older than the cursor in (time desc, id desc) order. Null times sort last. */
export function olderThan(time: AnyColumn, id: AnyColumn, cursor: Cursor): SQL {
  return sql`(${time}, ${id}) < (${cursor.at.toISOString()}::timestamptz, ${cursor.id})`;
}

/** Sets X-Next-Cursor and a Link rel="next" header when the page is full. */
export function pageHeaders(url: string, items: { at: Date | null; id: string | number }[], limit: number): Record<string, string> {
  const last = items[items.length - 1];
  if (items.length < limit || !last || !last.at) return {};
  const cursor = encodeCursor(last.at, last.id);
  const next = new URL(url);
  next.searchParams.set('before', cursor);
  return { 'X-Next-Cursor': cursor, Link: `<${next.pathname}${next.search}>; rel="next"` };
}
