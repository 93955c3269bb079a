// Per-credential request limits of /api: every authenticated request (and every realtime connect, which
// authenticates the same way) takes a token from its credential's bucket, an API key's or a dashboard
// user's. Past it: 429 rate_limited with Retry-After. Counted answers carry the IETF draft's
// RateLimit-Limit / RateLimit-Remaining / RateLimit-Reset (draft-ietf-httpapi-ratelimit-headers-05).
//
// Cost: one Durable Object round trip per request, made after the credential is known good (except on
// the text send path, which judges its key inside its own statement and so counts before it). That is
// acceptable: a request's own work is at least one Postgres round trip, usually farther than the object,
// which lives in the colo that first used it (the client's usual one). Batching or caching would let
// isolates hand out tokens they do not have, i.e. make the limit a different number per isolate.
import type { Context } from 'hono';
import type { Env } from '../env';
import type { AppEnv } from '../http/context';
import { ApiError } from '../http/errors';
import { limitsConfig } from './config';
import { limiterOf } from './limiter-of';
import type { RateDecision } from './token-bucket';

/** Whose bucket a request counts against. */
export type Credential = { apiKeyHash: string } | { userId: string };

const bucketName = (who: Credential) => ('apiKeyHash' in who ? `api-key:${who.apiKeyHash}` : `user:${who.userId}`);

export const countRequest = (env: Env, who: Credential): Promise<RateDecision> =>
  limiterOf(env, bucketName(who)).take(limitsConfig(env).apiPerKey);

export const rateLimitHeaders = (d: RateDecision): Record<string, string> => ({
  'ratelimit-limit': String(d.limit),
  'ratelimit-remaining': String(d.remaining),
  'ratelimit-reset': String(d.resetSeconds),
});

export const rateLimited = (d: RateDecision) =>
  new ApiError(429, 'rate_limited', `Too many requests with this credential; try again in ${d.retryAfterSeconds} s.`, undefined, {
    ...rateLimitHeaders(d),
    'retry-after': String(d.retryAfterSeconds),
  });

/** Puts the decision's headers on the answer; a proxied answer (a realtime 101) has fixed headers and goes without. */
export function tellLimit(c: Context<AppEnv>, d: RateDecision): void {
  for (const [name, value] of Object.entries(rateLimitHeaders(d))) {
    try {
      c.res.headers.set(name, value);
    } catch {
      return;
    }
  }
}
