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
  /**
   * A stored message changed: its sender edited it, someone reacted to it, or voted in it (a poll).
   * `by` is who did it (a JID; null for this account), `message` the message as stored after the change.
   */
  | { type: 'message.updated'; connectionId: string; change: MessageChangeKind; by: string | null; message: Message; at: string }
  /** A stored message was revoked for everyone (by its sender or a group admin), or deleted for this account only (`scope: 'me'`). */
  | { type: 'message.deleted'; connectionId: string; scope: 'everyone' | 'me'; by: string | null; message: Message; at: string }
  /** Someone called the account; `call.rejected` says whether the connection's call policy rejected it. */
  | { type: 'call.received'; connectionId: string; call: Call; at: string }
  /** `qr` is a PNG data URL (as GET /api/get-qr answers it), `qrRaw` the string it encodes. */
  | { type: 'qr.updated'; connectionId: string; qr: string; qrRaw: string; expiresAt: string; at: string };

export const Call = z
  .object({
    id: z.string().meta({ description: "WhatsApp's call id." }),
    from: z.string().meta({ description: 'The caller: digits of the phone number (a LID user part for hidden numbers).', example: '923001234567' }),
    chat_id: z.string().meta({ description: "The caller's chat, as messages name it.", example: '923001234567@s.whatsapp.net' }),
    is_video: z.boolean(),
    is_group: z.boolean(),
    group_id: z.string().nullable().meta({ description: "A group call's group JID." }),
    offline: z.boolean().meta({ description: 'Delivered when the account came back online: the call has most likely ended.' }),
    timestamp: z.string().meta({ description: 'When the call was placed (ISO 8601).' }),
    rejected: z.boolean().meta({ description: "Rejected by the connection's call policy (PUT /api/connections/{connection_id}/calls)." }),
    reject_message_id: z
      .string()
      .nullable()
      .meta({ description: "The provider_message_id of the policy's text sent to the caller after rejecting; null when none was sent." }),
  })
  .meta({ id: 'Call' });
export type Call = z.infer<typeof Call>;

export const messageChangeKinds = ['edit', 'reaction', 'poll_vote'] as const;
export type MessageChangeKind = (typeof messageChangeKinds)[number];

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

const changeFields = {
  provider_message_id: z.string(),
  chat_id: z.string(),
  is_group: z.boolean(),
  by: z.string().nullable().meta({ description: 'Who made the change: digits of the phone number (a LID user part for hidden numbers); null for this account.', example: '923001234567' }),
  message: z.string().nullable().meta({ description: 'The text as it stands now (after an edit: the new one).' }),
  data: Message,
};

export const MessageUpdatedWebhook = z
  .object({
    ...envelope,
    ...changeFields,
    change: z.enum(messageChangeKinds).meta({ description: '`edit`: its sender changed the text (`data.edits` keeps the earlier ones); `reaction`: `data.reactions` changed; `poll_vote`: `data.poll_votes` changed.' }),
  })
  .meta({ id: 'MessageUpdatedWebhook', description: 'A stored message was edited, reacted to or voted in; `data` is the message after the change.' });

export const MessageDeletedWebhook = z
  .object({
    ...envelope,
    ...changeFields,
    scope: z.enum(['everyone', 'me']).meta({ description: '`everyone`: revoked in WhatsApp (by its sender, or a group admin); `me`: deleted for this account only, through the API.' }),
  })
  .meta({ id: 'MessageDeletedWebhook', description: 'A stored message was deleted; `data.deleted_at` is set and its text stays readable in `data`.' });

export const ConnectionStatusWebhook = z
  .object({ ...envelope, status: z.string(), status_reason: z.string().nullable(), phone_number: z.string().nullable() })
  .meta({ id: 'ConnectionStatusWebhook' });

export const QrUpdatedWebhook = z
  .object({ ...envelope, qr: z.string().meta({ description: 'PNG data URL.' }), qr_raw: z.string(), expires_at: z.string() })
  .meta({ id: 'QrUpdatedWebhook' });

export const CallReceivedWebhook = z
  .object({
    ...envelope,
    call_id: z.string(),
    from: z.string().meta({ example: '923001234567' }),
    chat_id: z.string(),
    is_video: z.boolean(),
    is_group: z.boolean(),
    rejected: z.boolean(),
    data: Call,
  })
  .meta({ id: 'CallReceivedWebhook', description: 'Someone called the account (a voice or video call, or a group call).' });

export const TestWebhook = z.object({ ...envelope, message: z.string() }).meta({ id: 'TestWebhook' });

/** Each webhook event's body, for the OpenAPI document's `webhooks`. */
export const webhookBodies = {
  'message.received': MessageReceivedWebhook,
  'message.sent': MessageSentWebhook,
  'message.status': MessageStatusWebhook,
  'message.updated': MessageUpdatedWebhook,
  'message.deleted': MessageDeletedWebhook,
  'connection.status': ConnectionStatusWebhook,
  'qr.updated': QrUpdatedWebhook,
  'call.received': CallReceivedWebhook,
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
    case 'message.updated':
    case 'message.deleted':
      return {
        ...head,
        timestamp: e.at,
        provider_message_id: e.message.provider_message_id,
        chat_id: e.message.chat_id,
        is_group: isGroupChat(e.message.chat_id),
        by: jidUser(e.by),
        message: e.message.message,
        ...(e.type === 'message.updated' ? { change: e.change } : { scope: e.scope }),
        data: e.message,
      };
    case 'connection.status':
      return { ...head, timestamp: e.at, status: e.status, status_reason: e.statusReason, phone_number: e.phoneNumber };
    case 'qr.updated':
      return { ...head, timestamp: e.at, qr: e.qr, qr_raw: e.qrRaw, expires_at: e.expiresAt };
    case 'call.received':
      return {
        ...head,
        timestamp: e.call.timestamp,
        call_id: e.call.id,
        from: e.call.from,
        chat_id: e.call.chat_id,
        is_video: e.call.is_video,
        is_group: e.call.is_group,
        rejected: e.call.rejected,
        data: e.call,
      };
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

export const realtimeEventNames = ['connection-status', 'qr-update', 'new-message', 'message-sent', 'message-status', 'message-updated', 'message-deleted', 'call-received'] as const;
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
    case 'message.updated':
      return {
        event: 'message-updated',
        ...base,
        data: { ...base, chatId: e.message.chat_id, providerMessageId: e.message.provider_message_id, change: e.change, by: e.by, message: e.message },
      };
    case 'message.deleted':
      return {
        event: 'message-deleted',
        ...base,
        data: { ...base, chatId: e.message.chat_id, providerMessageId: e.message.provider_message_id, scope: e.scope, by: e.by, message: e.message },
      };
    case 'connection.status':
      return { event: 'connection-status', ...base, data: { ...base, status: e.status, phoneNumber: e.phoneNumber, statusReason: e.statusReason } };
    case 'qr.updated':
      return { event: 'qr-update', ...base, data: { ...base, qr: e.qr, qrRaw: e.qrRaw, expiresAt: e.expiresAt } };
    case 'call.received':
      return { event: 'call-received', ...base, data: { ...base, chatId: e.call.chat_id, call: e.call } };
  }
}
