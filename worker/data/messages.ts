// Reads of chats and message history, always through a connection the caller already owns.
import { and, desc, eq } from 'drizzle-orm';
import { chats, messages } from '../../drizzle/schema';
import type { Chat, Message } from '../../protocol/messages';
import type { Db } from './db';
import { olderThan, type Cursor } from './pagination';

export type MessageRow = typeof messages.$inferSelect;
export type ChatRow = typeof chats.$inferSelect;

export function toMessage(row: MessageRow, connectionId: string): Message {
  return {
    id: String(row.id),
    connection_id: connectionId,
    chat_id: row.chatId,
    direction: row.direction,
    from: row.fromJid,
    to: row.toJid,
    type: row.type,
    message: row.text,
    content: row.content ?? null,
    client_message_id: row.clientMessageId,
    provider_message_id: row.providerMessageId,
    status: row.status,
    error: row.error,
    timestamp: row.sentAt.toISOString(),
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export function toChat(row: ChatRow): Chat {
  return {
    chat_id: row.chatId,
    name: row.name,
    last_message_at: row.lastMessageAt.toISOString(),
    last_message: row.lastMessageText,
    unread_count: row.unreadCount,
  };
}

export function listChats(db: Db, connectionPk: string, limit: number, before?: Cursor): Promise<ChatRow[]> {
  const scope = eq(chats.connectionPk, connectionPk);
  return db
    .select()
    .from(chats)
    .where(before ? and(scope, olderThan(chats.lastMessageAt, chats.id, before)) : scope)
    .orderBy(desc(chats.lastMessageAt), desc(chats.id))
    .limit(limit);
}

export function listMessages(db: Db, connectionPk: string, chatId: string, limit: number, before?: Cursor): Promise<MessageRow[]> {
  const scope = and(eq(messages.connectionPk, connectionPk), eq(messages.chatId, chatId));
  return db
    .select()
    .from(messages)
    .where(before ? and(scope, olderThan(messages.sentAt, messages.id, before)) : scope)
    .orderBy(desc(messages.sentAt), desc(messages.id))
    .limit(limit);
}
