// The token bucket every limit here is made of, as a pure function of (state, rule, now): the RateLimiter
// Durable Object keeps the state in storage, the Scheduler keeps per-tenant send budgets in memory.
export interface RateLimitRule {
  /** How many in a window; the bucket holds this many at most (the burst). */
  limit: number;
  windowSeconds: number;
}

export interface Bucket {
  tokens: number;
  /** ms since the epoch the tokens were counted at. */
  at: number;
}

export interface RateDecision {
  allowed: boolean;
  /** The rule's limit (RateLimit-Limit). */
  limit: number;
  /** Whole tokens left after this take. */
  remaining: number;
  /** Seconds until the bucket is full again (RateLimit-Reset). */
  resetSeconds: number;
  /** With `allowed: false`: seconds until `cost` more are allowed (Retry-After); 0 when allowed. */
  retryAfterSeconds: number;
}

/** Takes `cost` tokens if there are that many (else none): the decision and the bucket to keep. */
export function takeTokens(stored: Bucket | undefined, rule: RateLimitRule, now: number, cost = 1): { decision: RateDecision; bucket: Bucket } {
  const perMs = rule.limit / (rule.windowSeconds * 1000);
  const start = stored ?? { tokens: rule.limit, at: now };
  const tokens = Math.min(rule.limit, start.tokens + Math.max(0, now - start.at) * perMs);
  const allowed = tokens >= cost;
  const left = allowed ? tokens - cost : tokens;
  return {
    bucket: { tokens: left, at: now },
    decision: {
      allowed,
      limit: rule.limit,
      remaining: Math.floor(left),
      resetSeconds: Math.ceil((rule.limit - left) / perMs / 1000),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((cost - tokens) / perMs / 1000)),
    },
  };
}

/** "10/900" → 10 per 900 s; the default when unset or malformed. */
export function parseRule(value: string | undefined, fallback: RateLimitRule): RateLimitRule {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value ?? '');
  if (!m) return fallback;
  const limit = Number(m[1]);
  const windowSeconds = Number(m[2]);
  return limit > 0 && windowSeconds > 0 ? { limit, windowSeconds } : fallback;
}
