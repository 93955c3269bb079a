// The API's shapes, as the wire contract (protocol/) defines them. Types only: nothing of the server is bundled.
import type { z } from 'zod';
import type { ApiKey as ApiKeySchema, ApiKeyScope, CreatedApiKey as CreatedApiKeySchema, Me as MeSchema } from '../../../protocol/auth';
import type {
  Connection,
  CreatedConnection as CreatedConnectionSchema,
  QrResponse,
} from '../../../protocol/connections';
import type { Call as CallSchema, RealtimeEventName } from '../../../protocol/events';
import type { Chat, Message, SendMessageBody } from '../../../protocol/messages';
import type { WebhookLog } from '../../../protocol/webhook-logs';
import type { RotatedWebhookSecret as RotatedSchema, ReplayResult as ReplayResultSchema, WebhookEventType } from '../../../protocol/webhooks';

export type { ApiKeyScope, Chat, Connection, Message, QrResponse, RealtimeEventName, SendMessageBody, WebhookEventType, WebhookLog };
export type ConnectionStatus = Connection['status'];
export type CreatedConnection = z.infer<typeof CreatedConnectionSchema>;
export type Call = z.infer<typeof CallSchema>;
export type Me = z.infer<typeof MeSchema>;
export type ApiKey = z.infer<typeof ApiKeySchema>;
export type CreatedApiKey = z.infer<typeof CreatedApiKeySchema>;
export type RotatedWebhookSecret = z.infer<typeof RotatedSchema>;
export type ReplayResult = z.infer<typeof ReplayResultSchema>;
export type MessageStatus = Message['status'];
export type WebhookDeliveryState = WebhookLog['state'];

/** Realtime frames' `data`, as docs/realtime.md describes them (camelCase, as the seed). */
export interface RealtimeData {
  'connection-status': { connectionId: string; status: ConnectionStatus; phoneNumber: string | null; statusReason: string | null };
  'qr-update': { connectionId: string; qr: string; qrRaw: string; expiresAt: string };
  'new-message': { connectionId: string; chatId: string; message: Message };
  'message-sent': { connectionId: string; chatId: string; clientMessageId: string | null; providerMessageId: string };
  'message-status': { connectionId: string; chatId: string; clientMessageId: string | null; providerMessageId: string; status: MessageStatus };
  'message-updated': { connectionId: string; chatId: string; providerMessageId: string | null; change: 'edit' | 'reaction' | 'poll_vote'; by: string | null; message: Message };
  'message-deleted': { connectionId: string; chatId: string; providerMessageId: string | null; scope: 'everyone' | 'me'; by: string | null; message: Message };
  'call-received': { connectionId: string; chatId: string; call: Call };
}
