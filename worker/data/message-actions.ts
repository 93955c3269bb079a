// Reads and writes of PATCH/DELETE /api/messages/…/:message_id (routes/message-actions.ts): the message an
// action is about, a change the runner made applied at once (the events pipeline's own code, so its
// runner echo finds it already applied and tells nothing twice), and a delete for this account only.
import { and, eq, sql } from 'drizzle-orm';
import { connections, messages, nowMs } from '../../drizzle/schema';
import type { QueuedEvent, RunnerEvent } from '../../protocol/runner';
import type { Db } from './db';
import { persistEvents, type EventsStore, type PersistOutcome } from './events';
import type { MessageRow } from './messages';
import { movedOutcome, SELECT_MOVED } from './outbound';
import { outboxCtes } from './outbox';

export async function findMessage(db: Db, connectionPk: string, chatId: string, providerMessageId: string): Promise<MessageRow | undefined> {
  const [row] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.connectionPk, connectionPk), eq(messages.chatId, chatId), eq(messages.providerMessageId, providerMessageId)))
    .limit(1);
  return row;
}

/** Stores a change our own runner just made (its answer), as the events pipeline would store the runner's echo of it. */
export function applyOwnChange(
  store: EventsStore,
  target: { connectionPk: string; tenantId: string; chatId: string; providerMessageId: string },
  change: Extract<RunnerEvent, { type: 'message.change' }>['change'],
  made: { id: string; timestamp: string },
): Promise<PersistOutcome> {
  const event: QueuedEvent = {
    connection_pk: target.connectionPk,
    tenant_id: target.tenantId,
    epoch: 0,
    runner_id: 'api',
    event: {
      id: `chg:${made.id}`,
      at: new Date().toISOString(),
      type: 'message.change',
      chat_id: target.chatId,
      target_id: target.providerMessageId,
      from_me: true,
      author: null,
      // Our own revoke of someone else's group message went out: the runner checked that we are an admin.
      ...(change.kind === 'revoke' ? { by_admin: true } : {}),
      timestamp: made.timestamp,
      change,
    },
  };
  return persistEvents(store, [event]);
}

/**
 * Marks a message deleted for this account only (nothing goes to WhatsApp), with its message.deleted
 * delivery in the same statement. Answers nothing when it was already deleted.
 */
export async function deleteForMe(db: Db, messageId: number): Promise<{ row?: MessageRow; tenantId?: string; deliveries: string[] }> {
  const result = await db.execute<Record<string, unknown>>(sql`
    with moved as (
      update ${messages} m set deleted_at = ${nowMs}, updated_at = ${nowMs}
      where m.id = ${messageId} and m.deleted_at is null
      returning m.*
    ),
    deliverable as (
      select c.tenant_id, m.connection_pk, 'message.deleted' as event_type, 'message.deleted:' || m.id as event_key, m.id as message_id,
             jsonb_build_object('scope', 'me', 'by', null, 'at', to_char(m.deleted_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) as data, 1 as ord
      from moved m join ${connections} c on c.id = m.connection_pk
    )${outboxCtes()}
    ${SELECT_MOVED}`);
  return movedOutcome(result.rows);
}
