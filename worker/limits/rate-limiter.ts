// A rate limit per key (one Durable Object per key, so each counts alone and strictly in order): a token
// bucket (token-bucket.ts) that refills `limit` tokens per `windowSeconds`. Kept in the object's storage, so
// an eviction or a restart does not hand an attacker a fresh bucket. Works the same in workerd locally and
// in production.
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';
import { takeTokens, type Bucket, type RateDecision, type RateLimitRule } from './token-bucket';

export { parseRule, type RateDecision, type RateLimitRule } from './token-bucket';

export class RateLimiter extends DurableObject<Env> {
  private bucket?: Bucket;

  /** Takes `cost` tokens if there are that many (else nothing), and says how it went. */
  async take(rule: RateLimitRule, cost = 1): Promise<RateDecision> {
    const now = Date.now();
    const stored = this.bucket ?? (await this.ctx.storage.get<Bucket>('bucket'));
    const { decision, bucket } = takeTokens(stored, rule, now, cost);
    this.bucket = bucket;
    if (!decision.allowed) return decision;
    await this.ctx.storage.put('bucket', bucket);
    // Nothing is kept once the bucket would be full again anyway.
    await this.ctx.storage.setAlarm(now + rule.windowSeconds * 1000);
    return decision;
  }

  override async alarm(): Promise<void> {
    this.bucket = undefined;
    await this.ctx.storage.deleteAll();
  }
}
