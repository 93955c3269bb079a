// Each tenant's sends per minute, counted where every send already passes: the Scheduler, on its way to the
// runner. So the quota costs no round trip of its own. Kept in the Scheduler's memory, not its storage: a
// storage write would hold every send's answer until it is durable. The price: the object restarting (a
// deploy) or waking from hibernation (only after a quiet spell, when buckets have mostly refilled anyway)
// hands out at most one fresh minute's allowance.
import { takeTokens, type Bucket, type RateDecision } from './token-bucket';

/** Buckets of tenants idle this long are full again: forgotten. */
const IDLE_MS = 60_000;
const PRUNE_AT = 10_000;

export class SendBudgets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes one send from the tenant's minute (`perMinute` of them; 0 allows none). */
  take(tenantId: string, perMinute: number): RateDecision {
    const now = this.now();
    if (perMinute <= 0) return { allowed: false, limit: 0, remaining: 0, resetSeconds: 60, retryAfterSeconds: 60 };
    if (this.buckets.size >= PRUNE_AT) this.prune(now);
    const { decision, bucket } = takeTokens(this.buckets.get(tenantId), { limit: perMinute, windowSeconds: 60 }, now);
    this.buckets.set(tenantId, bucket);
    return decision;
  }

  private prune(now: number) {
    for (const [tenant, b] of this.buckets) if (now - b.at > IDLE_MS) this.buckets.delete(tenant);
  }
}
