// Puts the calling tenant on the context, from an API key (Authorization: Bearer … or x-api-key) or a
// dashboard session cookie. Cookie-authenticated writes must come from our own origin (CSRF).
import { and, eq, gt, isNull, lt, or, sql } from 'drizzle-orm';
import { createMiddleware } from 'hono/factory';
import { apiKeys, sessions } from '../../drizzle/schema';
import { ApiError, errorResponse } from '../http/errors';
import { isSendMessage } from '../http/send-route';
import type { AppEnv } from '../http/context';
import { sha256Hex } from './credentials';
import { readSessionCookie } from './session-cookie';

/** last_used_at is refreshed at most this often per key, to keep auth off the write path. */
const LAST_USED_RESOLUTION_MS = 60_000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function presentedApiKey(headers: Headers): string | undefined {
  const auth = headers.get('authorization');
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (!m) throw new ApiError(401, 'unauthorized', 'The Authorization header must be "Bearer <api key>".');
    return m[1];
  }
  return headers.get('x-api-key')?.trim() || undefined;
}

const INVALID_API_KEY = 'The API key is not valid or has been revoked.';
export const invalidApiKey = () => new ApiError(401, 'invalid_api_key', INVALID_API_KEY);

async function findApiKey(db: AppEnv['Variables']['db'], hash: string) {
  const [row] = await db
    .select({ id: apiKeys.id, tenantId: apiKeys.tenantId, lastUsedAt: apiKeys.lastUsedAt })
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)))
    .limit(1);
  return row;
}

/**
 * Requests whose route checks the API key inside its own statement (see `TenantScope` in
 * data/outbound.ts): text-sized sends, where a separate lookup would be a whole extra database round trip
 * on every message. Only small bodies: the route parses and validates the body before the key is known, so
 * a caller without a valid key must not get a large (media) body decoded.
 */
const DEFERRED_KEY_CHECK_MAX_BODY = 64 * 1024;
const checksKeyItself = (req: Request) => {
  const length = Number(req.headers.get('content-length') ?? NaN);
  return isSendMessage(req) && length <= DEFERRED_KEY_CHECK_MAX_BODY;
};

export const requireTenant = createMiddleware<AppEnv>(async (c, next) => {
  const db = c.get('db');
  const key = presentedApiKey(c.req.raw.headers);
  if (key) {
    const hash = await sha256Hex(key);
    if (checksKeyItself(c.req.raw)) {
      c.set('pendingApiKeyHash', hash);
      await next();
      // The route clears the hash once its statement accepted the key. A refusal given before that (an
      // invalid body, say) is only told to a caller whose key is good: auth comes first, as everywhere.
      if (c.get('pendingApiKeyHash') && c.res.status >= 400 && c.res.status < 500 && c.res.status !== 401) {
        if (!(await findApiKey(db, hash))) c.res = errorResponse(c, 401, 'invalid_api_key', INVALID_API_KEY);
      }
      return;
    }
    const row = await findApiKey(db, hash);
    if (!row) throw invalidApiKey();
    c.set('principal', { tenantId: row.tenantId, via: 'api_key', apiKeyId: row.id });
    if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      await db
        .update(apiKeys)
        .set({ lastUsedAt: sql`now()` })
        .where(
          and(
            eq(apiKeys.id, row.id),
            or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, sql`now() - interval '1 minute'`)),
          ),
        );
    }
    return next();
  }

  const token = readSessionCookie(c);
  if (token) {
    const hash = await sha256Hex(token);
    const [session] = await db
      .select({ userId: sessions.userId, tenantId: sessions.tenantId })
      .from(sessions)
      .where(and(eq(sessions.tokenHash, hash), gt(sessions.expiresAt, sql`now()`)))
      .limit(1);
    if (!session) throw new ApiError(401, 'unauthorized', 'Your session has expired; log in again.');
    if (!SAFE_METHODS.has(c.req.method)) assertSameOrigin(c.req.raw);
    c.set('principal', { tenantId: session.tenantId, via: 'session', userId: session.userId, sessionHash: hash });
    return next();
  }

  throw new ApiError(401, 'unauthorized', 'Send an API key (Authorization: Bearer sk_… or x-api-key) or log in.');
});

/**
 * Browsers send Origin on every cross-site request and on same-origin writes, so a cookie-authenticated
 * write whose Origin is missing or foreign did not come from our dashboard.
 */
export function assertSameOrigin(req: Request): void {
  const origin = req.headers.get('origin');
  const expected = new URL(req.url).origin;
  if (!origin || origin !== expected) {
    throw new ApiError(403, 'csrf_rejected', 'Cross-site request refused: cookie-authenticated writes must come from this origin.');
  }
}
