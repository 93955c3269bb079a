// Receipts (message.status events): statuses move forward along one order, never back.
import { sql, type SQL } from 'drizzle-orm';
import { messages, nowMs } from '../../../drizzle/schema';
import type { QueuedEvent } from '../../../protocol/runner';
import type { MessageRow, MessageStatus } from './outcome';
import { deliveryIdsColumn, outboxCtes } from '../outbox';
import { byKey, CHUNK, ownedBy, type Plan } from './store';

/**
 * Statuses only move forward along one order; 'failed' sits after 'sent' so that it can end a pending,
 * unknown (send timed out) or sent message, but a delivery or read receipt — proof it arrived — still
 * beats it. 'received' (inbound) ranks with 'delivered', so our own read receipts can mark inbound rows read.
 */
const RANK: Record<MessageStatus, number> = {
  pending: 0,
  unknown: 0,
  sent: 1,
  failed: 2,
  received: 3,
  delivered: 3,
  read: 4,
  played: 5,
};
const rankOf = (column: SQL) =>
  sql.join([sql`(case ${column}`, ...Object.entries(RANK).map(([s, r]) => sql.raw(`when '${s}' then ${r}`)), sql`end)`], sql` `);

export interface StatusRow {
  id: number;
  connectionPk: string;
  providerMessageId: string;
  clientMessageId: string | null;
  chatId: string;
  direction: MessageRow['direction'];
  status: MessageStatus;
  previousStatus: MessageStatus;
}

/** Statuses of an outbound message that its webhook is told of, and those that mean it reached WhatsApp. */
export const TOLD: MessageStatus[] = ['sent', 'delivered', 'read', 'played', 'failed'];
export const REACHED: MessageStatus[] = ['sent', 'delivered', 'read', 'played'];

export function statusStatements(events: readonly QueuedEvent[]): Plan<StatusRow[]> {
  // Within a batch the furthest status wins: with one total order, that is what applying them in turn gives.
  const best = new Map<string, { pk: string; tenantId: string; providerId: string; chatId: string; status: MessageStatus; at: string }>();
  for (const { connection_pk: pk, tenant_id: tenantId, event: e } of events) {
    if (e.type !== 'message.status') continue;
    const key = `${pk} ${e.provider_message_id} ${e.chat_id} ${tenantId}`;
    const seen = best.get(key);
    if (!seen || RANK[e.status] > RANK[seen.status]) best.set(key, { pk, tenantId, providerId: e.provider_message_id, chatId: e.chat_id, status: e.status, at: e.at });
  }
  const rows = [...best].sort(([a], [b]) => byKey(a, b)).map(([, v]) => v);

  // A receipt for a message we have not stored yet changes nothing (its upsert may still be on its way,
  // and receipts normally follow their message). Kept harmless on purpose: no placeholder rows.
  const statements: SQL[] = [];
  for (let i = 0; i < rows.length; i += CHUNK) {
    const values = rows
      .slice(i, i + CHUNK)
      .map((r, ord) => sql`(${r.pk}::uuid, ${r.tenantId}::uuid, ${r.providerId}::text, ${r.chatId}::text, ${r.status}::text, ${RANK[r.status]}::int, ${ord + 1}::int, ${r.at}::text)`);
    statements.push(sql`
      with v (connection_pk, tenant_id, provider_message_id, chat_id, status, rank, ord, at) as (values ${sql.join(values, sql`, `)}),
      moved as (
        update ${messages} as m set status = v.status, updated_at = ${nowMs}
        -- The chat must match too: a message id alone is not proof that the receipt is about this message.
        from v join ${messages} prev on prev.connection_pk = v.connection_pk and prev.provider_message_id = v.provider_message_id
          and prev.chat_id = v.chat_id
        where m.id = prev.id and v.rank > ${rankOf(sql`prev.status`)} and ${ownedBy(sql`v.connection_pk`, sql`v.tenant_id`)}
        returning m.id, m.connection_pk, m.provider_message_id, m.client_message_id, m.chat_id, m.direction, m.status,
                  prev.status as previous_status, v.tenant_id, v.ord, v.at
      ),
      -- An outbound message's receipts are told by webhook (message.status), and the first one that shows it
      -- reached WhatsApp also as message.sent (the API send may already have told it: one delivery per fact).
      deliverable as (
        select tenant_id, connection_pk, 'message.status' as event_type, 'message.status:' || id || ':' || status as event_key,
               id as message_id, jsonb_build_object('status', status, 'at', at) as data, ord * 2 as ord
        from moved where direction = 'outbound' and status in (${sql.join(TOLD.map((t) => sql`${t}`), sql`, `)})
        union all
        select tenant_id, connection_pk, 'message.sent', 'message.sent:' || id, id, null, ord * 2 - 1
        from moved where direction = 'outbound' and status in (${sql.join(REACHED.map((t) => sql`${t}`), sql`, `)})
          and previous_status not in (${sql.join(REACHED.map((t) => sql`${t}`), sql`, `)})
      )${outboxCtes()}
      select m.*, ${deliveryIdsColumn(sql`m.id`)} from moved m`);
  }
  return {
    statements,
    read: (results) =>
      results.flat().map((r) => ({
        id: Number(r.id),
        connectionPk: String(r.connection_pk),
        providerMessageId: String(r.provider_message_id),
        clientMessageId: (r.client_message_id as string | null) ?? null,
        chatId: String(r.chat_id),
        direction: r.direction as MessageRow['direction'],
        status: r.status as MessageStatus,
        previousStatus: r.previous_status as MessageStatus,
      })),
  };
}
