// A messages row from the JSON Postgres makes of it (`to_jsonb(m.*)`: snake_case keys, times as text), in
// the shape drizzle gives; for statements that return whole rows through a CTE.
import type { MessageRow } from './events';

const asDate = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));

/** A messages row as `to_jsonb` gives it (snake_case keys, times as text). */
export function messageRowFromJson(j: Record<string, unknown>): MessageRow {
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
    clientMessageId: (j.client_message_id as string | null) ?? null,
    providerMessageId: (j.provider_message_id as string | null) ?? null,
    status: j.status as MessageRow['status'],
    error: (j.error as string | null) ?? null,
    sentAt: asDate(j.sent_at)!,
    createdAt: asDate(j.created_at)!,
    updatedAt: asDate(j.updated_at)!,
  };
}

