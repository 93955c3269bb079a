import { z } from 'zod';

export const webhookDeliveryStates = ['pending', 'delivered', 'retrying', 'failed', 'dead'] as const;

export const WebhookLog = z
  .object({
    id: z.string(),
    connection_id: z.string(),
    event_id: z.string(),
    event_type: z.string().meta({ example: 'message.received' }),
    url: z.string(),
    attempt: z.number().int(),
    state: z.enum(webhookDeliveryStates),
    status_code: z.number().int().nullable(),
    duration_ms: z.number().int().nullable(),
    error: z.string().nullable(),
    response_excerpt: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ id: 'WebhookLog' });
export type WebhookLog = z.infer<typeof WebhookLog>;
