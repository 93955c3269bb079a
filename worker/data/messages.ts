// Reads of chats and message history, always through a connection the caller already owns.
import { and, desc, eq } from 'drizzle-orm';
import { chats, messages } from '../../drizzle/schema';
import { tallyPoll, type Chat, type Message } from '../../protocol/messages';
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
    content: (row.content ?? null) as Message['content'],
    reply_to: row.replyTo ?? null,
    mentions: row.mentions ?? null,
    media: null,
    client_message_id: row.clientMessageId,
    provider_message_id: row.providerMessageId,
    status: row.status,
    error: row.error,
    timestamp: row.sentAt.toISOString(),
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    edited_at: row.editedAt?.toISOString() ?? null,
    deleted_at: row.deletedAt?.toISOString() ?? null,
    edits: row.edits ?? [],
    reactions: row.reactions ?? [],
    poll_votes: isPoll(row.type) ? tallyPoll(pollOptionsOf(row.content), row.pollVotes ?? []) : null,
  };
}

const isPoll = (type: string) => type === 'poll' || type.startsWith('pollCreation');

/**
 * The option names of a stored poll's content, in order: the `poll` content of protocol/inbound-content.ts
 * (`{ name, options }`), or from rows stored before it a send's `{ poll: { options } }` or Baileys'
 * pollCreationMessage of any version.
 */
export function pollOptionsOf(content: unknown): string[] {
  if (!content || typeof content !== 'object') return [];
  const own = (content as { options?: unknown }).options;
  if (Array.isArray(own) && own.every((o) => typeof o === 'string')) return own as string[];
  const sent = (content as { poll?: { options?: unknown } }).poll?.options;
  if (Array.isArray(sent)) return sent.filter((o): o is string => typeof o === 'string');
  for (const [key, value] of Object.entries(content as Record<string, unknown>)) {
    if (!key.startsWith('pollCreationMessage') || !value || typeof value !== 'object') continue;
    const options = (value as { options?: unknown }).options;
    if (Array.isArray(options)) return options.map((o) => (o as { optionName?: unknown })?.optionName).filter((n): n is string => typeof n === 'string');
  }
  return [];
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
