// Calls offered to an account (call.offer events): one statement per chunk records each call once (keyed
// by WhatsApp's call id) and, in the same statement, writes its `call.received` webhook deliveries. What
// the statement inserted is what the batch reports, so a replayed event tells nobody twice.
import { sql, type SQL } from 'drizzle-orm';
import { calls } from '../../../drizzle/schema';
import type { Call } from '../../../protocol/events';
import { jidUser } from '../../../protocol/events';
import type { QueuedEvent } from '../../../protocol/runner';
import { outboxCtes } from '../outbox';
import { cleanText } from './messages';
import { CHUNK, ownedBy, type Plan, type Ref } from './store';

/** A call this batch recorded. */
export interface CallOutcome {
  tenantId: string;
  connectionPk: string;
  connectionId: string;
  call: Call;
}

type CallRow = typeof calls.$inferSelect;

export const toCall = (r: Pick<CallRow, 'callId' | 'fromJid' | 'chatId' | 'isVideo' | 'isGroup' | 'groupId' | 'offline' | 'rejected' | 'rejectMessageId' | 'timestamp'>): Call => ({
  id: r.callId,
  from: jidUser(r.fromJid) ?? r.fromJid,
  chat_id: r.chatId,
  is_video: r.isVideo,
  is_group: r.isGroup,
  group_id: r.groupId,
  offline: r.offline,
  timestamp: r.timestamp.toISOString(),
  rejected: r.rejected,
  reject_message_id: r.rejectMessageId,
});

export function callStatements(events: readonly QueuedEvent[]): Plan<CallOutcome[]> {
  const offers = events.flatMap((e) => (e.event.type === 'call.offer' ? [{ pk: e.connection_pk, tenantId: e.tenant_id, call: e.event.call }] : []));
  const statements: SQL[] = [];
  for (let i = 0; i < offers.length; i += CHUNK) {
    const values = offers.slice(i, i + CHUNK).map(({ pk, tenantId, call: c }, n) => {
      const row = {
        callId: cleanText(c.call_id),
        fromJid: cleanText(c.from),
        chatId: cleanText(c.chat_id),
        isVideo: c.is_video,
        isGroup: c.is_group,
        groupId: c.group_id ? cleanText(c.group_id) : null,
        offline: c.offline,
        rejected: c.rejected,
        rejectMessageId: c.reject_message_id ? cleanText(c.reject_message_id) : null,
        timestamp: new Date(c.timestamp),
      };
      // The delivery carries the call as the webhook body shows it (worker/webhooks/render.ts).
      return sql`(${pk}::uuid, ${tenantId}::uuid, ${row.callId}::text, ${row.fromJid}::text, ${row.chatId}::text, ${row.isVideo}::boolean,
        ${row.isGroup}::boolean, ${row.groupId}::text, ${row.offline}::boolean, ${row.rejected}::boolean, ${row.rejectMessageId}::text,
        ${c.timestamp}::timestamptz, ${JSON.stringify({ call: toCall(row) })}::jsonb, ${i + n + 1}::int)`;
    });
    statements.push(sql`
      with v (connection_pk, tenant_id, call_id, from_jid, chat_id, is_video, is_group, group_id, offline, rejected, reject_message_id, ts, data, ord) as (values ${sql.join(values, sql`, `)}),
      inserted as (
        insert into ${calls} (connection_pk, call_id, from_jid, chat_id, is_video, is_group, group_id, offline, rejected, reject_message_id, timestamp)
        select distinct on (connection_pk, call_id) connection_pk, call_id, from_jid, chat_id, is_video, is_group, group_id, offline, rejected, reject_message_id, ts
        from v where ${ownedBy(sql`v.connection_pk`, sql`v.tenant_id`)}
        order by connection_pk, call_id, ord
        on conflict (connection_pk, call_id) do nothing
        returning *
      ),
      deliverable (tenant_id, connection_pk, event_type, event_key, message_id, data, ord) as (
        select v.tenant_id, i.connection_pk, 'call.received'::text, 'call.received:' || i.call_id, null::bigint,
          v.data, v.ord
        from inserted i join v on v.connection_pk = i.connection_pk and v.call_id = i.call_id
      )${outboxCtes()}
      -- Every delivery id once (on the first row): calls have no message id to match them by.
      select i.*, case when row_number() over () = 1 then coalesce((select array_agg(q.id) from queued q), '{}'::uuid[]) else '{}'::uuid[] end as delivery_ids
      from inserted i`,
    );
  }
  return {
    statements,
    read: (results, ref: Ref) =>
      results.flat().map((r) => ({
        ...ref(String(r.connection_pk)),
        call: toCall({
          callId: String(r.call_id),
          fromJid: String(r.from_jid),
          chatId: String(r.chat_id),
          isVideo: Boolean(r.is_video),
          isGroup: Boolean(r.is_group),
          groupId: r.group_id == null ? null : String(r.group_id),
          offline: Boolean(r.offline),
          rejected: Boolean(r.rejected),
          rejectMessageId: r.reject_message_id == null ? null : String(r.reject_message_id),
          timestamp: r.timestamp instanceof Date ? r.timestamp : new Date(String(r.timestamp)),
        }),
      })),
  };
}
