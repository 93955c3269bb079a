import { z } from 'zod';

/**
 * `pending`: not attempted yet; `retrying`: failed, tried again later; `delivered`: a 2xx answer; `failed`:
 * not sent (the URL was refused by policy, or removed); `dead`: retries ran out, or the endpoint said 410.
 */
export const webhookDeliveryStates = ['pending', 'delivered', 'retrying', 'failed', 'dead'] as const;

export const WebhookLog = z
  .object({
    id: z.string(),
    connection_id: z.string(),
    delivery_id: z.string().nullable().meta({ description: 'The delivery this attempt belongs to (null for a test event).' }),
    event_id: z.string().meta({ description: "The delivery's webhook-id header, the same on every attempt.", example: 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W' }),
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
