// The public events: what a tenant learns without asking, by webhook or over the realtime channel. One set
// of facts, two renderings: webhook bodies (snake_case, the seed's incoming-message fields at the top level)
// and realtime frames (the seed's event names and camelCase payloads). Both are made here, from one
// PublicEvent, so the two can never disagree.
import { z } from 'zod';
import type { connectionStatuses } from './connections';
import { Message, type messageStatuses } from './messages';

/** A fact that happened on one connection, as the control plane stored it. */
export type PublicEvent =
  | { type: 'message.received'; connectionId: string; message: Message; pushName: string | null }
  /** `message` is the stored message where the fact came with it (a send from another device, a webhook render). */
  | { type: 'message.sent'; connectionId: string; chatId: string; clientMessageId: string | null; providerMessageId: string; message: Message | null }
  | {
      type: 'message.status';
      connectionId: string;
      chatId: string;
      providerMessageId: string;
      clientMessageId: string | null;
      status: (typeof messageStatuses)[number];
      at: string;
    }
  | {
      type: 'connection.status';
      connectionId: string;
      status: (typeof connectionStatuses)[number];
      statusReason: string | null;
      phoneNumber: string | null;
      at: string;
    }
  /** `qr` is a PNG data URL (as GET /api/get-qr answers it), `qrRaw` the string it encodes. */
  | { type: 'qr.updated'; connectionId: string; qr: string; qrRaw: string; expiresAt: string; at: string };

/** The user part of a JID, as the seed's `from` has it: digits for a phone number. */
export const jidUser = (jid: string | null): string | null => (jid ? (jid.split('@')[0]!.split(':')[0] ?? null) : null);
const isGroupChat = (chatId: string) => chatId.endsWith('@g.us');

// ---------------------------------------------------------------------------------------------------
// Webhooks

/** What identifies one delivery to its endpoint; `webhook-id` is `event_id`, stable across retries. */
export interface DeliveryStamp {
  eventId: string;
  /** Per connection, increasing by one for every delivery made to its webhook: gaps mean something was missed. */
  sequence: number;
}

const envelope = {
  event: z.string().meta({ example: 'message.received' }),
  event_id: z.string().meta({ description: 'Same as the `webhook-id` header; stable across retries of a delivery.', example: 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W' }),
  connection_id: z.string(),
  sequence: z.number().int().meta({ description: 'Per connection, +1 for every delivery to its webhook.' }),
  timestamp: z.string().meta({ description: 'When it happened (ISO 8601).' }),
};

export const MessageReceivedWebhook = z
  .object({
    ...envelope,
    from: z.string().nullable().meta({ description: 'Sender: digits of the phone number (in a group, the participant).', example: '923001234567' }),
    message: z.string().nullable().meta({ description: 'Text, or a caption.', example: 'Hello!' }),
    provider_message_id: z.string(),
    chat_id: z.string(),
    message_type: z.string().meta({ example: 'text' }),
    push_name: z.string().nullable(),
    is_group: z.boolean(),
    data: Message,
  })
  .meta({ id: 'MessageReceivedWebhook', description: 'Body of a `message.received` delivery: the seed\'s fields at the top level, the stored message in `data`.' });

export const MessageSentWebhook = z
  .object({
    ...envelope,
    to: z.string().nullable(),
    message: z.string().nullable(),
    provider_message_id: z.string(),
    client_message_id: z.string().nullable(),
    chat_id: z.string(),
    message_type: z.string().nullable(),
    is_group: z.boolean(),
    data: Message.nullable(),
  })
  .meta({ id: 'MessageSentWebhook', description: 'A message reached WhatsApp (sent through the API, or from another device of the account).' });

export const MessageStatusWebhook = z
  .object({
    ...envelope,
    provider_message_id: z.string(),
    client_message_id: z.string().nullable(),
    chat_id: z.string(),
    status: z.enum(['sent', 'delivered', 'read', 'played', 'failed']),
  })
  .meta({ id: 'MessageStatusWebhook', description: "An outbound message's status moved forward." });

export const ConnectionStatusWebhook = z
  .object({ ...envelope, status: z.string(), status_reason: z.string().nullable(), phone_number: z.string().nullable() })
  .meta({ id: 'ConnectionStatusWebhook' });

export const QrUpdatedWebhook = z
  .object({ ...envelope, qr: z.string().meta({ description: 'PNG data URL.' }), qr_raw: z.string(), expires_at: z.string() })
  .meta({ id: 'QrUpdatedWebhook' });

export const TestWebhook = z.object({ ...envelope, message: z.string() }).meta({ id: 'TestWebhook' });

/** Each webhook event's body, for the OpenAPI document's `webhooks`. */
export const webhookBodies = {
  'message.received': MessageReceivedWebhook,
  'message.sent': MessageSentWebhook,
  'message.status': MessageStatusWebhook,
  'connection.status': ConnectionStatusWebhook,
  'qr.updated': QrUpdatedWebhook,
  test: TestWebhook,
} as const;

export function toWebhookBody(e: PublicEvent, stamp: DeliveryStamp): Record<string, unknown> {
  const head = { event: e.type, event_id: stamp.eventId, connection_id: e.connectionId, sequence: stamp.sequence };
  switch (e.type) {
    case 'message.received':
      return {
        ...head,
        timestamp: e.message.timestamp,
        from: jidUser(e.message.from),
        message: e.message.message,
        provider_message_id: e.message.provider_message_id,
        chat_id: e.message.chat_id,
        message_type: e.message.type,
        push_name: e.pushName,
        is_group: isGroupChat(e.message.chat_id),
        data: e.message,
      };
    case 'message.sent':
      return {
        ...head,
        timestamp: e.message?.timestamp ?? null,
        to: jidUser(e.message?.to ?? e.chatId),
        message: e.message?.message ?? null,
        provider_message_id: e.providerMessageId,
        client_message_id: e.clientMessageId,
        chat_id: e.chatId,
        message_type: e.message?.type ?? null,
        is_group: isGroupChat(e.chatId),
        data: e.message,
      };
    case 'message.status':
      return {
        ...head,
        timestamp: e.at,
        provider_message_id: e.providerMessageId,
        client_message_id: e.clientMessageId,
        chat_id: e.chatId,
        status: e.status,
      };
    case 'connection.status':
      return { ...head, timestamp: e.at, status: e.status, status_reason: e.statusReason, phone_number: e.phoneNumber };
    case 'qr.updated':
      return { ...head, timestamp: e.at, qr: e.qr, qr_raw: e.qrRaw, expires_at: e.expiresAt };
  }
}

/** The body of a `test` delivery (POST /api/connections/:connection_id/webhook/test). */
export const testWebhookBody = (connectionId: string, stamp: DeliveryStamp, at: string) => ({
  event: 'test',
  event_id: stamp.eventId,
  connection_id: connectionId,
  sequence: stamp.sequence,
  timestamp: at,
  message: 'This is a test delivery from Switchboard.',
});

// ---------------------------------------------------------------------------------------------------
// Realtime

export const realtimeEventNames = ['connection-status', 'qr-update', 'new-message', 'message-sent', 'message-status'] as const;
export type RealtimeEventName = (typeof realtimeEventNames)[number];

/** A realtime frame before the Hub numbers it. */
export interface RealtimeEvent {
  event: RealtimeEventName;
  connectionId: string;
  data: Record<string, unknown>;
}

export const RealtimeFrame = z
  .object({
    event: z.enum(realtimeEventNames),
    data: z.record(z.string(), z.unknown()),
    sequence: z.number().int().meta({ description: "Per tenant, increasing: reconnect with `?since=` to get what you missed." }),
  })
  .meta({ id: 'RealtimeFrame' });
export type RealtimeFrame = z.infer<typeof RealtimeFrame>;

/** The seed's realtime payloads, camelCase; one public event is one frame. */
export function toRealtimeEvent(e: PublicEvent): RealtimeEvent {
  const base = { connectionId: e.connectionId };
  switch (e.type) {
    case 'message.received':
      return { event: 'new-message', ...base, data: { ...base, chatId: e.message.chat_id, message: e.message } };
    case 'message.sent':
      return {
        event: 'message-sent',
        ...base,
        data: { ...base, chatId: e.chatId, clientMessageId: e.clientMessageId, providerMessageId: e.providerMessageId },
      };
    case 'message.status':
      return {
        event: 'message-status',
        ...base,
        data: { ...base, chatId: e.chatId, clientMessageId: e.clientMessageId, providerMessageId: e.providerMessageId, status: e.status },
      };
    case 'connection.status':
      return { event: 'connection-status', ...base, data: { ...base, status: e.status, phoneNumber: e.phoneNumber, statusReason: e.statusReason } };
    case 'qr.updated':
      return { event: 'qr-update', ...base, data: { ...base, qr: e.qr, qrRaw: e.qrRaw, expiresAt: e.expiresAt } };
  }
}
