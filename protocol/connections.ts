// REST shapes of connections (one linked WhatsApp account each), as in the seed contract, plus additions.
import { z } from 'zod';
import { utf8Bytes } from './utf8';
import { WebhookEvents, webhookEventTypes } from './webhooks';

export const connectionStatuses = ['disconnected', 'connecting', 'connected', 'logged_out', 'replaced'] as const;
export const ConnectionStatus = z.enum(connectionStatuses).meta({
  id: 'ConnectionStatus',
  description:
    '`disconnected`: not running; `connecting`: being opened (a QR may be waiting to be scanned); `connected`: open; `logged_out`: unlinked from the phone; `replaced`: another client took the session over.',
});

export const ConnectionId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits, ".", "_" and "-", starting with a letter or digit, at most 128')
  .meta({ description: "The tenant's own name for the connection, unique per tenant.", example: 'user123' });

export const WebhookUrl = z
  .string()
  .max(2048)
  .meta({ description: 'http(s) URL that receives webhook POSTs.', example: 'https://api.example.com/webhook' });

export const CreateConnectionBody = z
  .object({
    connection_id: ConnectionId,
    webhook_url: WebhookUrl.nullable().optional(),
  })
  .strict()
  .meta({ id: 'CreateConnectionBody' });
export type CreateConnectionBody = z.infer<typeof CreateConnectionBody>;

export const UpdateWebhookBody = z
  .object({ webhook_url: WebhookUrl.nullable(), events: WebhookEvents.optional() })
  .strict()
  .meta({
    id: 'UpdateWebhookBody',
    description: '`webhook_url: null` removes the webhook. `events` replaces the subscribed event types (unchanged when left out).',
  });

const timestamp = z.string().meta({ description: 'ISO 8601 time', example: '2026-11-25T10:00:00.000Z' });

/** Most UTF-8 bytes of the text sent to a rejected caller. */
export const MAX_CALL_REJECT_MESSAGE_BYTES = 4096;

export const CallPolicy = z
  .object({
    reject: z.boolean().meta({ description: 'Reject every incoming call (voice, video and group calls) as it rings.' }),
    message: z
      .string()
      .min(1)
      .refine((s) => utf8Bytes(s) <= MAX_CALL_REJECT_MESSAGE_BYTES, `at most ${MAX_CALL_REJECT_MESSAGE_BYTES} bytes of UTF-8`)
      .nullable()
      .optional()
      .meta({ description: 'With `reject`: a text sent to the caller after rejecting, e.g. "Calls are not answered here, please write." Null or left out: none.' }),
  })
  .strict()
  .meta({ id: 'CallPolicy', description: "What the gateway does with incoming calls. Every call is reported as `call.received` either way." });
export type CallPolicy = z.infer<typeof CallPolicy>;

export const Connection = z
  .object({
    connection_id: ConnectionId,
    status: ConnectionStatus,
    status_reason: z.string().nullable().meta({
      description:
        'Why the connection is in its status, when there is more to say: e.g. `runner_unreachable` (its runner is gone; ' +
        'it is being moved to another one), `qr_timeout`, `logged_out`, `conflict`, `logout_requested`. Null when connected.',
      example: null,
    }),
    phone_number: z.string().nullable().meta({ example: '+923001234567' }),
    webhook_url: z.string().nullable(),
    webhook_events: z.array(z.enum(webhookEventTypes)).meta({ description: 'Event types the webhook receives.', example: ['message.received'] }),
    calls: z.object({ reject: z.boolean(), message: z.string().nullable() }).meta({ description: 'The call policy (PUT /api/connections/{connection_id}/calls).' }),
    status_changed_at: timestamp,
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: 'Connection' });
export type Connection = z.infer<typeof Connection>;

export const CreatedConnection = Connection.extend({
  webhook_secret: z.string().meta({
    description: 'Secret that signs this connection\'s webhooks (Standard Webhooks). Shown only here.',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  }),
}).meta({ id: 'CreatedConnection' });

export const DeletedConnection = z
  .object({ connection_id: ConnectionId, deleted: z.literal(true) })
  .meta({ id: 'DeletedConnection' });

export const QrResponse = z
  .object({
    qr: z.string().nullable().meta({
      description: 'The QR as a PNG data URL, or null when no QR is waiting (not started yet, or already connected).',
      example: 'data:image/png;base64,iVBORw0KGgo…',
    }),
    qr_raw: z.string().nullable().meta({ description: 'The string the QR encodes.' }),
    expires_at: timestamp.nullable(),
    connection_id: ConnectionId,
    status: ConnectionStatus,
    status_reason: z.string().nullable().meta({
      description: 'Why there is no QR when the session ended instead (e.g. `untrusted_server`: the WhatsApp server failed its certificate checks).',
      example: null,
    }),
  })
  .meta({ id: 'QrResponse' });
export type QrResponse = z.infer<typeof QrResponse>;
