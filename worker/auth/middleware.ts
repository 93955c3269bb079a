// Puts the calling tenant on the context, from an API key (Authorization: Bearer … or x-api-key) or a
// dashboard session cookie, and holds the request to the scope its route needs (auth/scopes.ts): an
// expired key is 401 `api_key_expired`, one without the scope 403 `insufficient_scope`. Cookie-authenticated
// writes must come from our own origin (CSRF). Each request then counts against its credential's request
// limit (limits/api-limit.ts): 429 rate_limited past it, RateLimit-* headers on every counted answer.
import { and, eq, gt, isNull, lt, or, sql } from 'drizzle-orm';
import { createMiddleware } from 'hono/factory';
import { apiKeyScopes } from '../../protocol/auth';
import { apiKeys, sessions } from '../../drizzle/schema';
import { ApiError, errorResponse } from '../http/errors';
import { isSendMessage } from '../http/send-route';
import type { AppEnv } from '../http/context';
import { sha256Hex } from './credentials';
import type { RefusedKey } from '../data/outbound';
import { allows, insufficientScope, requiredScope, type RouteScope } from './scopes';
import { readSessionCookie } from './session-cookie';
import { countRequest, rateLimited, tellLimit } from '../limits/api-limit';

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
export const apiKeyExpired = (at: Date | null) =>
  new ApiError(401, 'api_key_expired', `The API key expired${at ? ` at ${at.toISOString()}` : ''}; create a new one.`);

/** The answer to a key the send statement (data/outbound.ts) refused: the same this middleware gives. */
export function keyRefused(refused: RefusedKey, needed: RouteScope | undefined): ApiError {
  if (refused.reason === 'invalid_api_key') return invalidApiKey();
  if (refused.reason === 'api_key_expired') return apiKeyExpired(refused.expiresAt);
  return insufficientScope(needed, refused.scopes);
}

async function findApiKey(db: AppEnv['Variables']['db'], hash: string) {
  const [row] = await db
    .select({
      id: apiKeys.id,
      tenantId: apiKeys.tenantId,
      lastUsedAt: apiKeys.lastUsedAt,
      scopes: apiKeys.scopes,
      expiresAt: apiKeys.expiresAt,
      // The database's clock, as the send statement uses: the two paths agree on the instant a key expires.
      expired: sql<boolean>`coalesce(${apiKeys.expiresAt} <= now(), false)`,
    })
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)))
    .limit(1);
  return row;
}

/** The refusal a found (or missing) key earns for a route that needs `needed`, if any. */
function refusalOf(row: Awaited<ReturnType<typeof findApiKey>>, needed: RouteScope | undefined): ApiError | undefined {
  if (!row) return invalidApiKey();
  if (row.expired) return apiKeyExpired(row.expiresAt);
  if (!allows(row.scopes, needed)) return insufficientScope(needed, row.scopes);
  return undefined;
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
  const needed = requiredScope(c.req.method, c.req.path);
  const key = presentedApiKey(c.req.raw.headers);
  if (key) {
    const hash = await sha256Hex(key);
    if (checksKeyItself(c.req.raw)) {
      // Counted before the send statement (which would record the message): the key is not known good yet.
      const decision = await countRequest(c.env, { apiKeyHash: hash });
      // Auth comes first: a bad key is told so, not that its (meaningless) bucket is empty.
      if (!decision.allowed) throw refusalOf(await findApiKey(db, hash), needed) ?? rateLimited(decision);
      c.set('pendingApiKey', { hash, scope: needed });
      await next();
      // The route clears the pending key once its statement judged it. A refusal given before that (an
      // invalid body, say) is only told to a caller whose key is good and may make this request: auth
      // comes first, as everywhere.
      if (c.get('pendingApiKey') && c.res.status >= 400 && c.res.status < 500) {
        const refusal = refusalOf(await findApiKey(db, hash), needed);
        if (refusal) return void (c.res = errorResponse(c, refusal.status, refusal.code, refusal.message, refusal.details));
      }
      if (!(c.res.status === 401 || c.res.status === 403)) tellLimit(c, decision);
      return;
    }
    const row = await findApiKey(db, hash);
    const refusal = refusalOf(row, needed);
    if (refusal || !row) throw refusal ?? invalidApiKey();
    const decision = await countRequest(c.env, { apiKeyHash: hash });
    if (!decision.allowed) throw rateLimited(decision);
    c.set('principal', { tenantId: row.tenantId, via: 'api_key', apiKeyId: row.id, scopes: row.scopes, expiresAt: row.expiresAt });
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
    await next();
    tellLimit(c, decision);
    return;
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
    const decision = await countRequest(c.env, { userId: session.userId });
    if (!decision.allowed) throw rateLimited(decision);
    // A dashboard user is the account's owner: every scope, and no expiry beyond the session's own.
    c.set('principal', {
      tenantId: session.tenantId,
      via: 'session',
      userId: session.userId,
      sessionHash: hash,
      scopes: [...apiKeyScopes],
      expiresAt: null,
    });
    await next();
    tellLimit(c, decision);
    return;
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
