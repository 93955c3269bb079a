// Marking a chat read: which received messages are still unread (the newest first, bounded), and once the
// runner sent their read receipts, those rows `read` and the chat's unread count 0 (GET /api/chats).
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { chats, messages, nowMs } from '../../drizzle/schema';
import type { Db } from './db';
import type { MessageRow } from './messages';

export type UnreadRow = Pick<MessageRow, 'id' | 'providerMessageId' | 'chatId' | 'direction' | 'fromJid'>;

/** The chat's received messages not yet marked read, newest first, at most `limit`. */
export function unreadMessages(db: Db, connectionPk: string, chatId: string, limit: number): Promise<UnreadRow[]> {
  return db
    .select({ id: messages.id, providerMessageId: messages.providerMessageId, chatId: messages.chatId, direction: messages.direction, fromJid: messages.fromJid })
    .from(messages)
    .where(and(eq(messages.connectionPk, connectionPk), eq(messages.chatId, chatId), eq(messages.direction, 'inbound'), eq(messages.status, 'received')))
    .orderBy(desc(messages.sentAt), desc(messages.id))
    .limit(limit);
}

/** The receipts went out: these rows are `read`, and the chat has nothing unread. */
export async function markChatRead(db: Db, connectionPk: string, chatId: string, ids: number[]): Promise<void> {
  if (ids.length) {
    await db
      .update(messages)
      .set({ status: 'read', updatedAt: nowMs })
      .where(and(eq(messages.connectionPk, connectionPk), inArray(messages.id, ids), eq(messages.status, 'received')));
  }
  // What arrived while the receipts were on their way (inserted after the newest one read) stays unread.
  const newest = ids.length ? Math.max(...ids) : undefined;
  const since = newest === undefined
    ? sql`0`
    : sql`(select count(*)::int from ${messages} m where m.connection_pk = ${connectionPk} and m.chat_id = ${chatId}
          and m.direction = 'inbound' and m.status = 'received' and m.id > ${newest})`;
  await db
    .update(chats)
    .set({ unreadCount: since, updatedAt: nowMs })
    .where(and(eq(chats.connectionPk, connectionPk), eq(chats.chatId, chatId), sql`${chats.unreadCount} <> 0`));
}
