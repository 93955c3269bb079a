// Refuses requests that carry U+0000 in the path, the query or a JSON body's strings, with 400. Postgres
// text and jsonb cannot hold the NUL character, so such a value would otherwise fail its query as a 500
// (found by test/api/fuzz.test.ts: GET /api/media/{connection_id}/%00). Inbound WhatsApp text is cleaned
// instead (data/events/messages.ts cleanText): a contact's message must not be lost, a caller's request
// can be corrected.
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from './context';
import { errorResponse } from './errors';

// A URL cannot carry a raw NUL: the URL parser percent-encodes it, so %00 is the only spelling.
const ENCODED_NUL = /%00/i;

export const refuseNul = createMiddleware<AppEnv>(async (c, next) => {
  const url = new URL(c.req.url);
  if (ENCODED_NUL.test(url.pathname) || ENCODED_NUL.test(url.search)) return refused(c, url.pathname.match(ENCODED_NUL) ? 'path' : 'query');
  if (c.req.raw.body && /json/i.test(c.req.header('content-type') ?? '')) {
    // c.req.json() caches the parsed body for the route's validator; a parse failure is the validator's to report.
    const body: unknown = await c.req.json().catch(() => undefined);
    if (holdsNul(body)) return refused(c, 'json');
  }
  return next();
});

function refused(c: Parameters<typeof errorResponse>[0], target: 'path' | 'query' | 'json') {
  return errorResponse(c, 400, 'validation_failed', `Invalid ${target}: text may not contain the NUL character (U+0000).`, {
    target,
    issues: [{ path: `(${target})`, message: 'contains U+0000' }],
  });
}

function holdsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 64 || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((v) => holdsNul(v, depth + 1));
  return Object.entries(value).some(([k, v]) => k.includes('\u0000') || holdsNul(v, depth + 1));
}
