// A messages row from what a hand-written statement answers (snake_case columns as the driver parses them,
// or `to_jsonb(m.*)` with times as text), in the shape drizzle gives (dates as Date, ids as numbers).
import type { MessageRow } from './events';

const asDate = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));

export function toMessageRow(j: Record<string, unknown>): MessageRow {
  return {
    id: Number(j.id),
    connectionPk: String(j.connection_pk),
    chatId: String(j.chat_id),
    direction: j.direction as MessageRow['direction'],
    fromJid: (j.from_jid as string | null) ?? null,
    toJid: (j.to_jid as string | null) ?? null,
    type: String(j.type),
    text: (j.text as string | null) ?? null,
    content: j.content ?? null,
    replyTo: (j.reply_to as string | null) ?? null,
    mentions: (j.mentions as string[] | null) ?? null,
    proto: j.proto ?? null,
    clientMessageId: (j.client_message_id as string | null) ?? null,
    providerMessageId: (j.provider_message_id as string | null) ?? null,
    requestHash: (j.request_hash as string | null) ?? null,
    status: j.status as MessageRow['status'],
    error: (j.error as string | null) ?? null,
    sentAt: asDate(j.sent_at)!,
    createdAt: asDate(j.created_at)!,
    updatedAt: asDate(j.updated_at)!,
    editedAt: asDate(j.edited_at),
    deletedAt: asDate(j.deleted_at),
    edits: (j.edits as MessageRow['edits'] | undefined) ?? [],
    reactions: (j.reactions as MessageRow['reactions'] | undefined) ?? [],
    pollVotes: (j.poll_votes as MessageRow['pollVotes'] | undefined) ?? null,
  };
}

