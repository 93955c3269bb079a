// Messages and chats from message.upsert events: set-based statements, one pair per chunk of messages.
import { sql, type SQL } from 'drizzle-orm';
import { chats, messages, nowMs } from '../../../drizzle/schema';
import type { QueuedEvent, WireMessage } from '../../../protocol/runner';
import type { NewMessage } from './outcome';
import { storedFromProtoJson } from '../../../protocol/inbound-content';
import { toMessageRow } from '../message-row';
import { deliveryIdsColumn, outboxCtes } from '../outbox';
import { byKey, CHUNK, ownedBy, toMs, type Plan } from './store';

/** Postgres text refuses NUL, and jsonb refuses unpaired surrogates; a poison message must not block the queue forever. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
export const cleanText = (s: string) => s.replace(/\u0000/g, '').replace(LONE_SURROGATE, '\ufffd');
const cleanNullable = (s: string | null) => (s === null ? null : cleanText(s));
function cleanJson(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  const text = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'string' ? cleanText(x) : x));
  return text === undefined ? null : JSON.parse(text);
}

const isGroup = (chatId: string) => chatId.endsWith('@g.us');

/**
 * The batch's messages and chats, per chunk of messages two statements:
 *   1. insert the messages that are new (a row that exists, the send path's outbound row or an earlier
 *      delivery, is left alone) and upsert their chats, counting as unread only what this statement inserted;
 *   2. fill, in rows that already existed, what they lack (text, JIDs, content); their client_message_id,
 *      status and sent_at stay as they are.
 * Only rows whose connection is the event's tenant's are written.
 */
export function messageStatements(events: readonly QueuedEvent[]): Plan<Omit<NewMessage, 'tenantId' | 'connectionPk' | 'connectionId'>[]> {
  // One row per (connection, provider id); a duplicate within the batch is the same fact, the last copy wins.
  // (Keyed by tenant too: a copy claimed under another tenant, dropped by the statements, never wins.)
  const latest = new Map<string, { pk: string; tenantId: string; m: WireMessage; seq: number }>();
  events.forEach(({ connection_pk: pk, tenant_id: tenantId, event: e }, seq) => {
    if (e.type === 'message.upsert') latest.set(`${pk} ${e.message.provider_message_id} ${tenantId}`, { pk, tenantId, m: e.message, seq });
  });
  // In the order the runner reported them, which is WhatsApp's: messages of the same second (WhatsApp's
  // timestamps have no finer resolution) keep their order in ids, and so in chat history, and the last
  // one becomes the chat's last message. (The batch holds its connections' locks, so no insert order can
  // deadlock against another consumer.)
  const upserts: Upsert[] = [...latest.values()]
    .sort((a, b) => a.seq - b.seq)
    .map(({ pk, tenantId, m }) => {
      // A runner from before structured content sent Baileys' content as `content` (and no `proto`): stored in the same shape as a newer runner's.
      const legacy = m.proto === undefined && m.type !== 'text' ? storedFromProtoJson(m.content) : undefined;
      const content = cleanJson(legacy ? legacy.content : m.content);
      const proto = cleanJson(m.proto === undefined ? (m.type === 'text' ? null : m.content) : m.proto);
      const mentions = m.mentions ?? legacy?.mentions ?? null;
      return {
        pk,
        tenantId,
        m,
        type: legacy?.type ?? m.type,
        from: cleanNullable(m.from),
        to: cleanNullable(m.to),
        text: cleanNullable(m.text),
        content,
        contentJson: content === null ? null : JSON.stringify(content),
        protoJson: proto === null ? null : JSON.stringify(proto),
        replyTo: cleanNullable(m.reply_to ?? legacy?.reply_to ?? null),
        mentionsJson: mentions === null ? null : JSON.stringify(cleanJson(mentions)),
      };
    });
  const statements: SQL[] = [];
  for (let i = 0; i < upserts.length; i += CHUNK) {
    const chunk = upserts.slice(i, i + CHUNK);
    statements.push(insertMessages(chunk), fillMessages(chunk));
  }
  const sourceOf = new Map(upserts.map((u) => [`${u.pk} ${u.m.provider_message_id} ${u.tenantId}`, u]));
  return {
    statements,
    // Only the inserting statements answer rows (every other one).
    read: (results, ref) =>
      results
        .filter((_, i) => i % 2 === 0)
        .flat()
        .map((raw) => {
          const pk = String(raw.connection_pk);
          const u = sourceOf.get(`${pk} ${String(raw.provider_message_id)} ${ref(pk).tenantId}`)!;
          // Inserted from this batch: its text and content are the batch's, as they were stored.
          const row = toMessageRow({ ...raw, text: u.text, content: u.content, proto: null });
          return { source: u.m.source, pushName: u.m.push_name, row };
        }),
  };
}

/** A message to store, with the values Postgres gets (cleaned once, see cleanText). */
interface Upsert {
  pk: string;
  tenantId: string;
  m: WireMessage;
  from: string | null;
  to: string | null;
  text: string | null;
  /** Its `type` as stored (an older runner's raw types are mapped). */
  type: string;
  content: unknown;
  contentJson: string | null;
  protoJson: string | null;
  replyTo: string | null;
  mentionsJson: string | null;
}

/**
 * Inserts the new messages and upserts every chat the chunk touches. A chat's last message moves to the
 * chunk's newest message when that is at least as new as the stored one, and its unread count grows by
 * the inbound live messages this statement inserted (history and redeliveries do not count). A 1:1 chat
 * is named by the contact's push name; a group's push names are its participants', so they never name
 * the group: its subject does, which the runner puts on the group's messages when it knows it
 * (`chat_name`). Answers the inserted rows.
 */
function insertMessages(chunk: Upsert[]): SQL {
  // An outbound message stored here was sent by another of the account's devices (or comes from history)
  // and reached WhatsApp: 'sent'.
  const values = chunk.map((u, ord) => sql`(${ord}::int, ${u.pk}::uuid, ${u.tenantId}::uuid, ${u.m.chat_id}::text,
    ${u.m.direction}::text, ${u.from}::text, ${u.to}::text, ${u.type}::text, ${u.text}::text, ${u.contentJson}::jsonb,
    ${u.replyTo}::text, ${u.mentionsJson}::jsonb, ${u.protoJson}::jsonb, ${u.m.provider_message_id}::text, ${u.m.direction === 'inbound' ? 'received' : 'sent'}::text,
    ${u.m.timestamp}::timestamptz, ${u.m.source === 'live'}::boolean, ${cleanNullable(u.m.push_name)}::text)`);

  const perChat = new Map<string, { pk: string; chatId: string; newest: WireMessage; name: string | null; nameAt: number }>();
  for (const { pk, m } of chunk) {
    const key = `${pk} ${m.chat_id}`;
    const at = toMs(m.timestamp).getTime();
    const c = perChat.get(key) ?? { pk, chatId: m.chat_id, newest: m, name: null, nameAt: -Infinity };
    if (at >= toMs(c.newest.timestamp).getTime()) c.newest = m;
    const name = isGroup(m.chat_id) ? m.chat_name : m.direction === 'inbound' ? m.push_name : null;
    if (name && at >= c.nameAt) {
      c.name = name;
      c.nameAt = at;
    }
    perChat.set(key, c);
  }
  const chatValues = [...perChat]
    .sort(([a], [b]) => byKey(a, b))
    .map(([, c]) => sql`(${c.pk}::uuid, ${c.chatId}::text, ${cleanNullable(c.name ?? null)}::text,
      ${c.newest.timestamp}::timestamptz, ${cleanNullable(c.newest.text)}::text)`);

  // `>=` lets a later message with the same (second-resolution) WhatsApp timestamp take over; the name
  // only follows batches that are not older than what is stored, so a replayed old batch cannot revert it.
  const newer = sql`excluded.last_message_at >= chats.last_message_at`;
  return sql`
    with v (ord, connection_pk, tenant_id, chat_id, direction, from_jid, to_jid, type, text, content, reply_to, mentions, proto, provider_message_id, status, sent_at, live, push_name)
      as (values ${sql.join(values, sql`, `)}),
    owned as (select * from v where ${ownedBy(sql`v.connection_pk`, sql`v.tenant_id`)}),
    inserted as (
      insert into ${messages} (connection_pk, chat_id, direction, from_jid, to_jid, type, text, content, reply_to, mentions, proto, provider_message_id, status, sent_at)
      select connection_pk, chat_id, direction, from_jid, to_jid, type, text, content, reply_to, mentions, proto, provider_message_id, status, sent_at
      from owned order by ord
      on conflict (connection_pk, provider_message_id) do nothing
      returning ${sql.raw(RETURNED_MESSAGE_COLUMNS)}
    ),
    unread as (
      select i.connection_pk, i.chat_id, count(*)::int as n
      from inserted i join owned o on o.connection_pk = i.connection_pk and o.provider_message_id = i.provider_message_id
      where i.direction = 'inbound' and o.live
      group by i.connection_pk, i.chat_id
    ),
    chat_rows (connection_pk, chat_id, name, last_message_at, last_message_text) as (values ${sql.join(chatValues, sql`, `)}),
    upserted_chats as (
      insert into ${chats} (connection_pk, chat_id, name, last_message_at, last_message_text, unread_count)
      select r.connection_pk, r.chat_id, r.name, r.last_message_at, r.last_message_text, coalesce(u.n, 0)
      from chat_rows r left join unread u on u.connection_pk = r.connection_pk and u.chat_id = r.chat_id
      where exists (select 1 from owned o where o.connection_pk = r.connection_pk)
      order by r.connection_pk, r.chat_id
      on conflict (connection_pk, chat_id) do update set
        last_message_text = case when ${newer} then excluded.last_message_text else chats.last_message_text end,
        last_message_at = greatest(chats.last_message_at, excluded.last_message_at),
        name = case when ${newer} then coalesce(excluded.name, chats.name) else chats.name end,
        unread_count = chats.unread_count + excluded.unread_count,
        updated_at = ${nowMs}
      where excluded.unread_count > 0
        or excluded.last_message_at > chats.last_message_at
        or (excluded.last_message_at = chats.last_message_at and excluded.last_message_text is distinct from chats.last_message_text)
        or (${newer} and excluded.name is not null and excluded.name is distinct from chats.name)
      returning 1
    ),
    -- Live messages are told by webhook: what arrived (message.received), and what the account sent from
    -- another device (message.sent; a send through the API is told when it reaches WhatsApp, see receipts).
    deliverable as (
      select o.tenant_id, i.connection_pk, e.event_type, e.event_type || ':' || i.id as event_key, i.id as message_id,
             case when o.push_name is null then null else jsonb_build_object('push_name', o.push_name) end as data, o.ord
      from inserted i
      join owned o on o.connection_pk = i.connection_pk and o.provider_message_id = i.provider_message_id
      cross join lateral (select case when i.direction = 'inbound' then 'message.received' else 'message.sent' end as event_type) e
      where o.live
    )${outboxCtes()}
    select i.*, ${deliveryIdsColumn(sql`i.id`)} from inserted i`;
}

/** Fills what rows that existed before the chunk lack; the rows the chunk inserted lack nothing it has. */
function fillMessages(chunk: Upsert[]): SQL {
  const values = chunk.map((u) => sql`(${u.pk}::uuid, ${u.tenantId}::uuid, ${u.m.provider_message_id}::text,
    ${u.from}::text, ${u.to}::text, ${u.text}::text, ${u.contentJson}::jsonb, ${u.replyTo}::text, ${u.mentionsJson}::jsonb, ${u.protoJson}::jsonb)`);
  // Our own sends come back from WhatsApp (Baileys echoes them): their proto is what quoting them later sends.
  return sql`
    update ${messages} as m set
      from_jid = coalesce(m.from_jid, v.from_jid), to_jid = coalesce(m.to_jid, v.to_jid),
      text = coalesce(m.text, v.text), content = coalesce(m.content, v.content),
      reply_to = coalesce(m.reply_to, v.reply_to), mentions = coalesce(m.mentions, v.mentions), proto = coalesce(m.proto, v.proto),
      updated_at = ${nowMs}
    from (values ${sql.join(values, sql`, `)}) as v(connection_pk, tenant_id, provider_message_id, from_jid, to_jid, text, content, reply_to, mentions, proto)
    where m.connection_pk = v.connection_pk and m.provider_message_id = v.provider_message_id
      and ${ownedBy(sql`v.connection_pk`, sql`v.tenant_id`)}
      and ((m.from_jid is null and v.from_jid is not null) or (m.to_jid is null and v.to_jid is not null)
        or (m.text is null and v.text is not null) or (m.content is null and v.content is not null)
        or (m.reply_to is null and v.reply_to is not null) or (m.mentions is null and v.mentions is not null)
        or (m.proto is null and v.proto is not null))`;
}

/** A new row's columns but its text and content, which the batch has already (and which may be large). */
const RETURNED_MESSAGE_COLUMNS =
  'id, connection_pk, chat_id, direction, from_jid, to_jid, type, reply_to, mentions, client_message_id, provider_message_id, status, error, sent_at, created_at, updated_at';

