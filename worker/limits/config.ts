// The abuse limits' configuration, from the Worker's vars (wrangler.toml [vars], README configuration
// table), each with the default production wants. Per-tenant overrides live in Postgres (tenant_limits).
import type { Env } from '../env';
import { parseRule, type RateLimitRule } from './token-bucket';

/** Every /api request counts against its credential: 600 a minute is 10/s sustained, with a 600 burst. */
const API_PER_KEY: RateLimitRule = { limit: 600, windowSeconds: 60 };
/** Connections a tenant may have at all (each may hold a WhatsApp session on the shared runners). */
const MAX_CONNECTIONS = 100;
/** Unlinked sessions (waiting for a QR scan or pairing code) a tenant may have running at once. */
const MAX_UNLINKED_SESSIONS = 5;
/** Sends a tenant may make per minute, over all its connections (each connection is also paced by its runner). */
const SENDS_PER_MINUTE = 600;
/**
 * Numbers one connection may look up with POST …/check-numbers: WhatsApp bans accounts that probe many
 * numbers, so 200 an hour (a token bucket, each number one token), well under what an enumeration needs.
 */
const CHECK_NUMBERS: RateLimitRule = { limit: 200, windowSeconds: 3600 };

const count = (value: string | undefined, fallback: number) => {
  const n = Number(value);
  return value !== undefined && value.trim() !== '' && Number.isInteger(n) && n >= 0 ? n : fallback;
};

export interface LimitsConfig {
  apiPerKey: RateLimitRule;
  maxConnections: number;
  maxUnlinkedSessions: number;
  sendsPerMinute: number;
  checkNumbersPerConnection: RateLimitRule;
}

export const limitsConfig = (env: Env): LimitsConfig => ({
  apiPerKey: parseRule(env.API_LIMIT_PER_KEY, API_PER_KEY),
  maxConnections: count(env.TENANT_MAX_CONNECTIONS, MAX_CONNECTIONS),
  maxUnlinkedSessions: count(env.TENANT_MAX_UNLINKED_SESSIONS, MAX_UNLINKED_SESSIONS),
  sendsPerMinute: count(env.TENANT_SENDS_PER_MINUTE, SENDS_PER_MINUTE),
  checkNumbersPerConnection: parseRule(env.CHECK_NUMBERS_LIMIT, CHECK_NUMBERS),
});
