// REST shapes of webhook settings and delivery logs. Event payloads themselves are in events.ts.
import { z } from 'zod';

/** Webhook event types a connection can subscribe to (`test` is sent on request only). */
export const webhookEventTypes = ['message.received', 'message.sent', 'message.status', 'message.updated', 'message.deleted', 'connection.status', 'qr.updated', 'call.received'] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];
export const DEFAULT_WEBHOOK_EVENTS: WebhookEventType[] = ['message.received'];

export const WebhookEvents = z
  .array(z.enum(webhookEventTypes))
  .min(1)
  .max(webhookEventTypes.length)
  .refine((list) => new Set(list).size === list.length, 'each event at most once')
  .meta({
    id: 'WebhookEvents',
    description: 'Events this connection\'s webhook receives. Default: `["message.received"]`.',
    example: ['message.received', 'message.status'],
  });


export const RotatedWebhookSecret = z
  .object({
    connection_id: z.string(),
    webhook_secret: z.string().meta({ description: 'The new secret. Shown only here.', example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }),
    previous_secret_expires_at: z.string().meta({
      description: 'Until then every delivery is signed with both the new and the previous secret (two `v1,` signatures), so receivers can switch over.',
    }),
  })
  .meta({ id: 'RotatedWebhookSecret' });

export const ReplayBody = z
  .object({
    since: z.iso.datetime({ offset: true }).meta({ description: 'Deliveries created at or after this time.', example: '2026-12-01T00:00:00Z' }),
    states: z
      .array(z.enum(['dead', 'failed']))
      .min(1)
      .default(['dead', 'failed'])
      .meta({ description: '`dead`: retries ran out, or the endpoint answered 410; `failed`: not sent (the URL was refused or removed). Default both.' }),
  })
  .strict()
  .meta({ id: 'ReplayBody' });

export const ReplayResult = z
  .object({ replayed: z.number().int().meta({ description: 'Deliveries put back on the queue, each starting its retry schedule again.' }) })
  .meta({ id: 'ReplayResult' });
