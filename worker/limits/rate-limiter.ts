// A rate limit per key (one Durable Object per key, so each counts alone and strictly in order): a token
// bucket that refills `limit` tokens per `windowSeconds`. Kept in the object's storage, so an eviction or
// a restart does not hand an attacker a fresh bucket. Works the same in workerd locally and in production.
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';

export interface RateLimitRule {
  /** How many in a window; the bucket holds this many at most (the burst). */
  limit: number;
  windowSeconds: number;
}

export interface RateDecision {
  allowed: boolean;
  /** Tokens left after this take. */
  remaining: number;
  /** With `allowed: false`: seconds until one more is allowed. */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter extends DurableObject<Env> {
  private bucket?: Bucket;

  /** Takes `cost` tokens if there are that many (else nothing), and says how it went. */
  async take(rule: RateLimitRule, cost = 1): Promise<RateDecision> {
    const now = Date.now();
    const perMs = rule.limit / (rule.windowSeconds * 1000);
    const stored = this.bucket ?? (await this.ctx.storage.get<Bucket>('bucket')) ?? { tokens: rule.limit, at: now };
    const tokens = Math.min(rule.limit, stored.tokens + (now - stored.at) * perMs);
    if (tokens < cost) {
      this.bucket = { tokens, at: now };
      return { allowed: false, remaining: Math.floor(tokens), retryAfterSeconds: Math.max(1, Math.ceil((cost - tokens) / perMs / 1000)) };
    }
    this.bucket = { tokens: tokens - cost, at: now };
    await this.ctx.storage.put('bucket', this.bucket);
    // Nothing is kept once the bucket would be full again anyway.
    await this.ctx.storage.setAlarm(now + rule.windowSeconds * 1000);
    return { allowed: true, remaining: Math.floor(tokens - cost), retryAfterSeconds: 0 };
  }

  override async alarm(): Promise<void> {
    this.bucket = undefined;
    await this.ctx.storage.deleteAll();
  }
}

/** "10/900" → 10 per 900 s; the default when unset or malformed. */
export function parseRule(value: string | undefined, fallback: RateLimitRule): RateLimitRule {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value ?? '');
  if (!m) return fallback;
  const limit = Number(m[1]);
  const windowSeconds = Number(m[2]);
  return limit > 0 && windowSeconds > 0 ? { limit, windowSeconds } : fallback;
}

/** The limiter of one key (e.g. `login-ip:203.0.113.7`). */
export const limiterOf = (env: Pick<Env, 'RATE_LIMITER'>, key: string) => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key));
