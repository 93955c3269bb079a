// When a failed delivery is tried again: the first retries within seconds (a blip), then backing off to
// hours, about 24 hours in all, with jitter so that an endpoint coming back is not hit by every delivery
// at once. WEBHOOK_RETRY_SCHEDULE (seconds, comma-separated) replaces it, e.g. to compress it in tests.

/** Delays before retries 1, 2, …: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 6 h, 10 h (≈ 23.7 h in all). */
export const DEFAULT_RETRY_SCHEDULE = [5, 30, 120, 600, 1800, 3600, 7200, 14400, 21600, 36000];
/** Cloudflare Queues delay a message by at most 12 hours. */
export const MAX_QUEUE_DELAY_SECONDS = 43_200;

export function parseRetrySchedule(raw: string | undefined): number[] {
  if (!raw?.trim()) return DEFAULT_RETRY_SCHEDULE;
  const delays = raw.split(',').map((s) => Number(s.trim()));
  if (delays.length === 0 || delays.some((d) => !Number.isFinite(d) || d < 0 || d > MAX_QUEUE_DELAY_SECONDS)) {
    throw new Error(`WEBHOOK_RETRY_SCHEDULE must be comma-separated seconds between 0 and ${MAX_QUEUE_DELAY_SECONDS}`);
  }
  return delays;
}

/**
 * Seconds to wait before the next try after `failedAttempts` failed ones (in this round: a replay starts
 * the schedule again), or null when the schedule is spent and the delivery is dead. Jitter: ±20 %.
 */
export function retryDelaySeconds(schedule: number[], failedAttempts: number, random = Math.random): number | null {
  const base = schedule[failedAttempts - 1];
  if (base === undefined) return null;
  const jittered = base * (0.8 + 0.4 * random());
  return Math.min(MAX_QUEUE_DELAY_SECONDS, Math.round(jittered));
}
