// What a command is admitted under, apart from the Scheduler's class so that the Worker's client
// (client.ts) can refuse a send itself without loading cloudflare:workers.
import type { CommandOutcome } from './scheduler';

/** What the caller admits a command under: a send counts against its tenant's sends per minute. */
export interface Admission {
  tenantId: string;
  sendsPerMinute?: number;
}

/** The outcome of a send past its tenant's minute (routes/messages.ts answers it as limits/quotas.ts sendQuotaExceeded). */
export const sendQuotaSpent = (perMinute: number, retryAfterSeconds: number): CommandOutcome => ({
  ok: false,
  error: { code: 'send_quota_exceeded', message: `The account's ${perMinute} sends a minute are spent.` },
  retryAfterSeconds,
});
