// The people a connection knows, from contacts.upsert events: one statement per chunk. Fields only fill
// in (an event that leaves a name out keeps the stored one). A person first known by LID alone, once
// their phone number arrives, moves under the number: their contact row (taking along what was known),
// their messages and their chat (its unread count added to the number's chat, if there is one already).
// One person, one chat, also for what arrived before WhatsApp told us who they are.
import { sql, type SQL } from 'drizzle-orm';
import { chats, contacts, messages, nowMs } from '../../../drizzle/schema';
import type { QueuedEvent, WireContact } from '../../../protocol/runner';
import { cleanText } from './messages';
import { byKey, CHUNK, ownedBy, type Plan } from './store';

type Row = { pk: string; tenantId: string; c: WireContact };

const text = (v: string | null | undefined) => (v ? cleanText(v) : null);

/** Merges what several events of a batch say about one person (later facts win, missing ones do not clear). */
function merged(events: readonly QueuedEvent[]): Row[] {
  const byPerson = new Map<string, Row>();
  for (const { connection_pk: pk, tenant_id: tenantId, event: e } of events) {
    if (e.type !== 'contacts.upsert') continue;
    for (const c of e.contacts) {
      const key = `${pk} ${c.jid} ${tenantId}`;
      const seen = byPerson.get(key)?.c;
      const next: WireContact = { ...seen, jid: c.jid };
      for (const f of ['lid', 'name', 'push_name', 'verified_name'] as const) if (c[f]) next[f] = c[f];
      byPerson.set(key, { pk, tenantId, c: next });
    }
  }
  return [...byPerson].sort(([a], [b]) => byKey(a, b)).map(([, v]) => v);
}

export function contactStatements(events: readonly QueuedEvent[]): Plan<number> {
  const rows = merged(events);
  const statements: SQL[] = [];
  for (let i = 0; i < rows.length; i += CHUNK) {
    const values = rows
      .slice(i, i + CHUNK)
      .map(
        ({ pk, tenantId, c }) =>
          sql`(${pk}::uuid, ${tenantId}::uuid, ${text(c.jid)}::text, ${text(c.lid)}::text, ${text(c.name)}::text, ${text(c.push_name)}::text, ${text(c.verified_name)}::text)`,
      );
    statements.push(sql`
      with v (connection_pk, tenant_id, jid, lid, name, push_name, verified_name) as (values ${sql.join(values, sql`, `)}),
      -- Known by LID alone until now: that row gives way to the one under the number.
      moved as (
        delete from ${contacts} c using v
        where c.connection_pk = v.connection_pk and v.lid is not null and c.jid = v.lid and c.jid <> v.jid
          and ${ownedBy(sql`v.connection_pk`, sql`v.tenant_id`)}
        returning c.*
      ),
      paired as (select * from v where v.lid is not null and v.lid <> v.jid and ${ownedBy(sql`v.connection_pk`, sql`v.tenant_id`)}),
      moved_messages as (
        update ${messages} m set chat_id = p.jid,
          from_jid = case when m.from_jid = p.lid then p.jid else m.from_jid end,
          to_jid = case when m.to_jid = p.lid then p.jid else m.to_jid end,
          updated_at = ${nowMs}
        from paired p where m.connection_pk = p.connection_pk and m.chat_id = p.lid
        returning m.id
      ),
      moved_chat as (
        delete from ${chats} c using paired p where c.connection_pk = p.connection_pk and c.chat_id = p.lid
        returning c.*, p.jid as to_chat
      ),
      merged_chat as (
        insert into ${chats} (connection_pk, chat_id, name, last_message_at, last_message_text, unread_count)
        select connection_pk, to_chat, name, last_message_at, last_message_text, unread_count from moved_chat
        on conflict (connection_pk, chat_id) do update set
          unread_count = ${chats}.unread_count + excluded.unread_count,
          name = coalesce(${chats}.name, excluded.name),
          last_message_text = case when excluded.last_message_at > ${chats}.last_message_at then excluded.last_message_text else ${chats}.last_message_text end,
          last_message_at = greatest(${chats}.last_message_at, excluded.last_message_at),
          updated_at = ${nowMs}
        returning 1
      )
      insert into ${contacts} (connection_pk, jid, lid, name, push_name, verified_name)
      select v.connection_pk, v.jid, v.lid, coalesce(v.name, m.name), coalesce(v.push_name, m.push_name), coalesce(v.verified_name, m.verified_name)
      from v left join moved m on m.connection_pk = v.connection_pk and m.jid = v.lid
      where ${ownedBy(sql`v.connection_pk`, sql`v.tenant_id`)}
      on conflict (connection_pk, jid) do update set
        lid = coalesce(excluded.lid, ${contacts}.lid),
        name = coalesce(excluded.name, ${contacts}.name),
        push_name = coalesce(excluded.push_name, ${contacts}.push_name),
        verified_name = coalesce(excluded.verified_name, ${contacts}.verified_name),
        updated_at = ${nowMs}
      returning 1`);
  }
  return { statements, read: (results) => results.flat().length };
}
