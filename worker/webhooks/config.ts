// Webhook delivery settings, read once per isolate from the Worker's vars (README: configuration).
import { webhookTargetPolicy, type PrivateTargetPolicy } from '../lib/webhook-url';
import type { Env } from '../env';
import { parseRetrySchedule } from './schedule';

export interface WebhookConfig {
  /** Delays before each retry, in seconds (schedule.ts). */
  schedule: number[];
  /** How long one POST may take. */
  timeoutMs: number;
  /** A delivery due longer ago than this, and not attempted, is re-enqueued by the sweep. */
  sweepLateSeconds: number;
  policy: PrivateTargetPolicy;
  /** Finished deliveries and log rows older than this are deleted by the sweep. */
  retentionDays: number;
}

const num = (v: string | undefined, fallback: number) => (v && Number.isFinite(Number(v)) ? Number(v) : fallback);

let cached: { key: string; config: WebhookConfig } | undefined;

export function webhookConfig(env: Pick<Env, 'WEBHOOK_RETRY_SCHEDULE' | 'WEBHOOK_TIMEOUT_MS' | 'WEBHOOK_SWEEP_LATE_SECONDS' | 'WEBHOOK_RETENTION_DAYS' | 'ALLOW_PRIVATE_WEBHOOK_TARGETS'>): WebhookConfig {
  const key = [env.WEBHOOK_RETRY_SCHEDULE, env.WEBHOOK_TIMEOUT_MS, env.WEBHOOK_SWEEP_LATE_SECONDS, env.WEBHOOK_RETENTION_DAYS, env.ALLOW_PRIVATE_WEBHOOK_TARGETS].join('|');
  if (cached?.key !== key) {
    cached = {
      key,
      config: {
        schedule: parseRetrySchedule(env.WEBHOOK_RETRY_SCHEDULE),
        timeoutMs: num(env.WEBHOOK_TIMEOUT_MS, 10_000),
        sweepLateSeconds: num(env.WEBHOOK_SWEEP_LATE_SECONDS, 60),
        policy: webhookTargetPolicy(env),
        retentionDays: num(env.WEBHOOK_RETENTION_DAYS, 30),
      },
    };
  }
  return cached.config;
}
