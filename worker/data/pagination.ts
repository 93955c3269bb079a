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

export function decodeCursor(raw: string | undefined): Cursor | undefined {
  if (raw === undefined) return undefined;
  try {
    const text = atob(raw.replace(/-/g, '+').replace(/_/g, '/'));
    const dot = text.indexOf('.');
    const ms = Number(text.slice(0, dot));
    const id = text.slice(dot + 1);
    if (dot > 0 && Number.isSafeInteger(ms) && /^[0-9a-f-]{1,36}$/i.test(id)) return { at: new Date(ms), id };
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
