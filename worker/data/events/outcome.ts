// What a stored batch changed: the seam for realtime fan-out and webhook deliveries. Replays report nothing.
import type { connections, messages } from '../../../drizzle/schema';
import type { WireMessage } from '../../../protocol/runner';
import type { CallOutcome } from './calls';
import type { MessageChangeOutcome } from './changes';

export type MessageStatus = (typeof messages.$inferSelect)['status'];
export type ConnectionStatus = (typeof connections.$inferSelect)['status'];
export type MessageRow = typeof messages.$inferSelect;

/** A message row this batch inserted (not one that already existed, e.g. from the send path). */
export interface NewMessage {
  tenantId: string;
  connectionPk: string;
  connectionId: string;
  source: WireMessage['source'];
  pushName: string | null;
  row: MessageRow;
}

/** A message whose status moved forward. */
export interface MessageStatusChange {
  tenantId: string;
  connectionPk: string;
  connectionId: string;
  messageId: number;
  providerMessageId: string;
  clientMessageId: string | null;
  chatId: string;
  direction: MessageRow['direction'];
  status: MessageStatus;
  /** The status before this batch moved it. */
  previousStatus: MessageStatus;
}

/** A connection whose lifecycle state changed; the fields are the state after the batch. */
export interface ConnectionChange {
  tenantId: string;
  connectionPk: string;
  connectionId: string;
  statusChanged: boolean;
  qrChanged: boolean;
  status: ConnectionStatus;
  statusReason: string | null;
  phoneNumber: string | null;
  statusChangedAt: Date;
  /** The QR waiting to be scanned, or null when there is none (cleared, or never set). */
  qr: { raw: string; expiresAt: Date } | null;
}

/** What a batch changed: the seam for realtime fan-out and webhook jobs. Replays report nothing. */
export interface PersistOutcome {
  messages: NewMessage[];
  statuses: MessageStatusChange[];
  connections: ConnectionChange[];
  /** Messages edited, revoked, reacted to or voted in (changes.ts). */
  changes: MessageChangeOutcome[];
  /** Calls offered to the account that this batch recorded (calls.ts). */
  calls: CallOutcome[];
  /** Events dropped because their connection no longer exists (deleted) or is not the tenant's. */
  ignored: number;
  /** Webhook deliveries the batch wrote to the outbox (worker/data/outbox.ts), to be put on the `webhooks` queue. */
  deliveries: string[];
}
