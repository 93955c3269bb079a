// GET /api/stats: the counts the dashboard's overview shows, for the calling tenant only.
import { z } from 'zod';
import type { connectionStatuses } from './connections';

/** How far back `since` may reach: the dashboard asks for "today", the index keeps that cheap. */
export const STATS_MAX_SINCE_DAYS = 31;
/** A `since` a little ahead of the server's clock (a client's clock) is still taken. */
const SINCE_SKEW_MS = 5 * 60_000;
/** The webhook figures always cover this window, ending now. */
export const STATS_WEBHOOK_WINDOW_HOURS = 24;

const count = z.number().int().min(0);
const timestamp = z.string().meta({ description: 'ISO 8601 time (UTC).', example: '2026-12-01T00:00:00.000Z' });

const byStatus = {
  disconnected: count,
  connecting: count,
  connected: count,
  logged_out: count,
  replaced: count,
} satisfies Record<(typeof connectionStatuses)[number], typeof count>;

export const Stats = z
  .object({
    connections: z.object({
      total: count,
      by_status: z.object(byStatus).meta({ description: 'Every status, zero included; they add up to `total`.' }),
    }),
    messages: z.object({
      since: timestamp.meta({ description: 'Messages sent at or after this time are counted (the `since` asked for, else the start of today UTC).' }),
      inbound: count.meta({ description: 'Received from WhatsApp, by their WhatsApp timestamp.' }),
      outbound: count.meta({ description: 'Sent from the account: through the API (whatever became of them, failed included) or from its other devices.' }),
    }),
    webhooks: z.object({
      since: timestamp.meta({ description: `Now minus ${STATS_WEBHOOK_WINDOW_HOURS} hours.` }),
      failed_attempts: count.meta({
        description: 'Delivery attempts (webhook log rows) in the window that did not deliver: a non-2xx answer, a network error or timeout, or a URL refused.',
      }),
      dead_deliveries: count.meta({ description: 'Deliveries that became `dead` in the window (retries ran out, or the endpoint answered 410).' }),
    }),
  })
  .meta({ id: 'Stats' });
export type Stats = z.infer<typeof Stats>;

export const StatsQuery = z.object({
  since: z.iso
    .datetime({ offset: true })
    .refine((s) => {
      const at = Date.parse(s);
      return at >= Date.now() - STATS_MAX_SINCE_DAYS * 86_400_000 && at <= Date.now() + SINCE_SKEW_MS;
    }, `must be within the last ${STATS_MAX_SINCE_DAYS} days`)
    .optional()
    .meta({
      description: `Count messages from this time on (ISO 8601, within the last ${STATS_MAX_SINCE_DAYS} days; e.g. the user's local midnight). Default: the start of today UTC.`,
      example: '2026-12-01T00:00:00+01:00',
    }),
});

/** The start of the UTC day `now` is in. */
export const startOfUtcDay = (now: Date) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
