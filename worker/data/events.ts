// Persistence of runner events (the `events` queue) into Postgres: messages, chats, message receipts and
// connection lifecycle (status, QR). Queue delivery is at-least-once, so applying a batch again — or an
// older batch after a newer one — must change nothing: messages are keyed by provider message id, chat
// counters only count rows this call inserted, statuses only move forward, and lifecycle events older
// than the stored state are skipped. One transaction per batch, a handful of statements per batch
// (grouped by event type), never one round trip per event. A batch without lifecycle events (nearly all:
// messages and receipts) is one round trip in all, and over Neon's HTTP driver needs no database session
// (EventsStore.batch).
//
// Concurrency: the batch's connection rows are locked first (FOR NO KEY UPDATE, in id order), so two
// consumers working on the same connection run one after the other — no lost unread increments, no
// lifecycle fold over stale state, no deadlocks between chat upserts. The lock does not block the send
// path's message inserts (their foreign-key check takes KEY SHARE) but does hold back a connection
// delete until the batch is stored.
import { inArray, sql, type SQL } from 'drizzle-orm';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import type * as schema from '../../drizzle/schema';
import { chats, connections, messages, nowMs } from '../../drizzle/schema';
import type { QueuedEvent, RunnerEvent, WireMessage } from '../../protocol/runner';

type MessageStatus = (typeof messages.$inferSelect)['status'];
type ConnectionStatus = (typeof connections.$inferSelect)['status'];
export type MessageRow = typeof messages.$inferSelect;

/** Any drizzle Postgres database over our schema: neon-serverless in the Worker, node-postgres in tests. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventsDb = PgDatabase<any, typeof schema>;
type Tx = Parameters<Parameters<EventsDb['transaction']>[0]>[0];

/** A message row this batch inserted (not one that already existed, e.g. from the send path). */
export interface NewMessage {
  tenantId: string;
  connectionPk: string;
  connectionId: string;
  source: WireMessage['source'];
  pushName: string | null;
  row: MessageRow;
}

/** A message whose status moved forward. */
export interface MessageStatusChange {
  tenantId: string;
  connectionPk: string;
  connectionId: string;
  messageId: number;
  providerMessageId: string;
  clientMessageId: string | null;
  chatId: string;
  direction: MessageRow['direction'];
  status: MessageStatus;
}

/** A connection whose lifecycle state changed; the fields are the state after the batch. */
export interface ConnectionChange {
  tenantId: string;
  connectionPk: string;
  connectionId: string;
  statusChanged: boolean;
  qrChanged: boolean;
  status: ConnectionStatus;
  statusReason: string | null;
  phoneNumber: string | null;
  statusChangedAt: Date;
  /** The QR waiting to be scanned, or null when there is none (cleared, or never set). */
  qr: { raw: string; expiresAt: Date } | null;
}

/** What a batch changed: the seam for realtime fan-out and webhook jobs. Replays report nothing. */
export interface PersistOutcome {
  messages: NewMessage[];
  statuses: MessageStatusChange[];
  connections: ConnectionChange[];
  /** Events dropped because their connection no longer exists (deleted) or is not the tenant's. */
  ignored: number;
}

/** Rows per multi-row statement; keeps bind parameters far below Postgres' 65535. */
const CHUNK = 1000;

/** A result row as the driver answers it (column names as in SQL; values as the driver parses them). */
export type Row = Record<string, unknown>;

/**
 * Where a batch is stored. Most batches (messages and receipts) are a fixed list of statements whose SQL
 * does not depend on what an earlier one read: `batch` runs them in order in one transaction, which over
 * Neon's HTTP driver is one round trip and no database session. A batch with lifecycle events folds them
 * over the connection's locked state in code, so it needs `interactive`, a transaction on a session.
 */
export interface EventsStore {
  batch(statements: SQL[]): Promise<Row[][]>;
  interactive<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
}

/** Statements to run in order, and how their results (one list of rows each) become the outcome. */
interface Plan<T> {
  statements: SQL[];
  read(results: Row[][], ref: Ref): T;
}

type Ref = (pk: string) => { tenantId: string; connectionPk: string; connectionId: string };

const isLifecycle = (e: QueuedEvent) => e.event.type === 'connection.status' || e.event.type === 'qr';

/**
 * Above this much event JSON a batch goes over a session too: Neon's HTTP endpoint caps a request's
 * response at 10 MB (and its request size), and a batch of history-sync messages with rich content can
 * come near that, while a session streams. A live batch is a few kilobytes.
 */
export const HTTP_BATCH_MAX_BYTES = 1024 * 1024;

/**
 * Stores a batch of queued runner events in one transaction. Idempotent: the same batch applied twice
 * leaves the database as after the first time, and the second outcome is empty.
 */
export async function persistEvents(store: EventsStore, events: readonly QueuedEvent[]): Promise<PersistOutcome> {
  const outcome: PersistOutcome = { messages: [], statuses: [], connections: [], ignored: 0 };
  if (events.length === 0) return outcome;
  if (events.some(isLifecycle) || JSON.stringify(events).length > HTTP_BATCH_MAX_BYTES) {
    return store.interactive(async (tx) => {
      const owners = await ownersOf(tx, events);
      const { accepted, ignored, ref } = owned(events, owners);
      outcome.ignored = ignored;
      outcome.connections = await persistLifecycle(tx, accepted, owners);
      const plan = writePlan(accepted);
      const results: Row[][] = [];
      for (const s of plan.statements) results.push(((await tx.execute(s)) as unknown as { rows: Row[] }).rows);
      return { ...outcome, ...plan.read(results, ref) };
    });
  }
  // No lifecycle: one round trip. The first statement locks the batch's connections, as above; the writes
  // after it cannot wait for its answer, so each one keeps only rows whose connection is the tenant's.
  const pks = [...new Set(events.map((e) => e.connection_pk))].sort();
  const lock = sql`select id, tenant_id, connection_id from ${connections}
    where id in (${sql.join(pks.map((pk) => sql`${pk}::uuid`), sql`, `)}) order by id for no key update`;
  const plan = writePlan(events);
  const [locked, ...results] = await store.batch([lock, ...plan.statements]);
  const refs = new Map(
    locked!.map((r) => [String(r.id), { tenantId: String(r.tenant_id), connectionPk: String(r.id), connectionId: String(r.connection_id) }]),
  );
  const ignored = events.filter((e) => refs.get(e.connection_pk)?.tenantId !== e.tenant_id).length;
  return { ...outcome, ...plan.read(results, (pk) => refs.get(pk)!), ignored };
}

/** The batch's messages (with their chats), then its receipts: a receipt may be for a message of the same batch. */
function writePlan(events: readonly QueuedEvent[]): Plan<Pick<PersistOutcome, 'messages' | 'statuses'>> {
  const messagePlan = messageStatements(events);
  const statusPlan = statusStatements(events);
  const split = messagePlan.statements.length;
  return {
    statements: [...messagePlan.statements, ...statusPlan.statements],
    read: (results, ref) => ({
      messages: messagePlan.read(results.slice(0, split), ref).map((m) => ({ ...ref(m.row.connectionPk), ...m })),
      statuses: statusPlan.read(results.slice(split), ref).map((r) => statusChange(ref, r)),
    }),
  };
}

type Owner = Awaited<ReturnType<typeof ownersOf>> extends Map<string, infer O> ? O : never;

/**
 * The batch's connection rows, by id, locked in id order inside persistEvents' transaction, which
 * serializes consumers working on the same connection (see the head of this file).
 */
async function ownersOf(db: Pick<EventsDb, 'select'>, events: readonly QueuedEvent[]) {
  const pks = [...new Set(events.map((e) => e.connection_pk))].sort();
  const query = db
    .select({
      id: connections.id,
      tenantId: connections.tenantId,
      connectionId: connections.connectionId,
      status: connections.status,
      statusReason: connections.statusReason,
      phoneNumber: connections.phoneNumber,
      statusChangedAt: connections.statusChangedAt,
      linkedAt: connections.linkedAt,
      qrRaw: connections.qrRaw,
      qrExpiresAt: connections.qrExpiresAt,
      startRequestedAt: connections.startRequestedAt,
    })
    .from(connections)
    .where(inArray(connections.id, pks))
    .orderBy(connections.id);
  const rows = await query.for('no key update');
  return new Map(rows.map((c) => [c.id, c]));
}

/** A deleted connection's events (or, defensively, one claimed under another tenant) are dropped. */
function owned(events: readonly QueuedEvent[], owners: Map<string, Owner>) {
  const accepted: QueuedEvent[] = [];
  let ignored = 0;
  for (const e of events) {
    const owner = owners.get(e.connection_pk);
    if (owner && owner.tenantId === e.tenant_id) accepted.push(e);
    else ignored++;
  }
  const ref = (pk: string) => {
    const c = owners.get(pk)!;
    return { tenantId: c.tenantId, connectionPk: c.id, connectionId: c.connectionId };
  };
  return { accepted, ignored, ref };
}

const statusChange = (ref: Ref, r: StatusRow): MessageStatusChange => ({
  ...ref(r.connectionPk),
  messageId: r.id,
  providerMessageId: r.providerMessageId,
  clientMessageId: r.clientMessageId,
  chatId: r.chatId,
  direction: r.direction,
  status: r.status,
});

// ---------------------------------------------------------------------------------------------------
// Connection lifecycle: connection.status and qr events, folded per connection in time order.

type LifecycleEvent = Extract<RunnerEvent, { type: 'connection.status' | 'qr' }>;

export interface LifecycleState {
  status: ConnectionStatus;
  statusReason: string | null;
  phoneNumber: string | null;
  statusChangedAt: Date;
  linkedAt: Date | null;
  qrRaw: string | null;
  qrExpiresAt: Date | null;
  startRequestedAt: Date | null;
}

const toMs = (iso: string) => new Date(iso);
const noQr = { qrRaw: null, qrExpiresAt: null };

/**
 * One lifecycle event applied to the stored state; events older than the state's status_changed_at are
 * skipped, so out-of-order delivery never regresses a connection.
 *
 * A QR needs no status change to be worth storing (WhatsApp rotates them every ~20 s while status stays
 * `connecting`), so QRs are ordered among themselves by `expires_at` (a later QR expires later) and
 * against status changes by `at` vs status_changed_at. A QR never lands on a connected connection.
 */
export function applyLifecycle(s: LifecycleState, e: LifecycleEvent): LifecycleState {
  const at = toMs(e.at);
  if (at.getTime() < s.statusChangedAt.getTime()) return s;
  if (e.type === 'qr') {
    if (s.status === 'connected') return s;
    const expiresAt = toMs(e.expires_at);
    if (s.qrExpiresAt && expiresAt.getTime() < s.qrExpiresAt.getTime()) return s;
    const becomesConnecting = s.status !== 'connecting';
    return {
      ...s,
      status: 'connecting',
      // A QR on screen says all there is to say (and its runner is reachable): no reason stays from before.
      statusReason: null,
      statusChangedAt: becomesConnecting ? at : s.statusChangedAt,
      qrRaw: e.qr,
      qrExpiresAt: expiresAt,
    };
  }
  const next: LifecycleState = {
    ...s,
    status: e.status,
    statusReason: e.status === 'connected' ? null : (e.reason ?? null),
    phoneNumber: e.phone_number ?? s.phoneNumber,
    statusChangedAt: at,
  };
  switch (e.status) {
    case 'connected':
      return { ...next, ...noQr, linkedAt: s.linkedAt ?? at };
    case 'logged_out':
      // The phone unlinked us and the runner deletes the auth state: the account is no longer linked,
      // so it is not restored after restarts until paired again (as markLoggedOut does for API logouts).
      return { ...next, ...noQr, linkedAt: null, startRequestedAt: null };
    case 'replaced':
      return { ...next, ...noQr };
    case 'disconnected':
      // Nobody scanned: stop running the unlinked session until someone asks for a QR again.
      return e.reason === 'qr_timeout' ? { ...next, ...noQr, startRequestedAt: null } : next;
    default:
      return next;
  }
}

const sameTime = (a: Date | null, b: Date | null) => (a?.getTime() ?? null) === (b?.getTime() ?? null);

async function persistLifecycle(
  tx: Tx,
  events: readonly QueuedEvent[],
  byPk: Map<string, LifecycleState & { id: string; tenantId: string; connectionId: string }>,
): Promise<ConnectionChange[]> {
  const perConnection = new Map<string, { e: LifecycleEvent; i: number }[]>();
  events.forEach(({ connection_pk: pk, event: e }, i) => {
    if (e.type !== 'connection.status' && e.type !== 'qr') return;
    const list = perConnection.get(pk) ?? [];
    list.push({ e, i });
    perConnection.set(pk, list);
  });

  const changes: ConnectionChange[] = [];
  const rows: SQL[] = [];
  for (const [pk, list] of [...perConnection].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const before = byPk.get(pk)!;
    list.sort((a, b) => toMs(a.e.at).getTime() - toMs(b.e.at).getTime() || a.i - b.i);
    const after = list.reduce((s, { e }) => applyLifecycle(s, e), before as LifecycleState);
    const statusChanged =
      after.status !== before.status ||
      after.statusReason !== before.statusReason ||
      after.phoneNumber !== before.phoneNumber ||
      !sameTime(after.statusChangedAt, before.statusChangedAt);
    const qrChanged = after.qrRaw !== before.qrRaw || !sameTime(after.qrExpiresAt, before.qrExpiresAt);
    const otherChanged = !sameTime(after.linkedAt, before.linkedAt) || !sameTime(after.startRequestedAt, before.startRequestedAt);
    if (!statusChanged && !qrChanged && !otherChanged) continue;
    rows.push(
      sql`(${pk}::uuid, ${after.status}::text, ${after.statusReason}::text, ${after.phoneNumber}::text,
        ${iso(after.statusChangedAt)}::timestamptz, ${iso(after.linkedAt)}::timestamptz, ${after.qrRaw}::text,
        ${iso(after.qrExpiresAt)}::timestamptz, ${iso(after.startRequestedAt)}::timestamptz)`,
    );
    if (statusChanged || qrChanged) {
      changes.push({
        tenantId: before.tenantId,
        connectionPk: pk,
        connectionId: before.connectionId,
        statusChanged,
        qrChanged,
        status: after.status,
        statusReason: after.statusReason,
        phoneNumber: after.phoneNumber,
        statusChangedAt: after.statusChangedAt,
        qr: after.qrRaw && after.qrExpiresAt ? { raw: after.qrRaw, expiresAt: after.qrExpiresAt } : null,
      });
    }
  }
  if (rows.length === 0) return changes;
  // The rows are locked by this transaction and the new state was computed from what the lock guards,
  // so writing the whole lifecycle state back overwrites nothing anyone else wrote.
  await tx.execute(sql`
    update ${connections} as c set
      status = v.status, status_reason = v.status_reason, phone_number = v.phone_number,
      status_changed_at = v.status_changed_at, linked_at = v.linked_at, qr_raw = v.qr_raw,
      qr_expires_at = v.qr_expires_at, start_requested_at = v.start_requested_at, updated_at = ${nowMs}
    from (values ${sql.join(rows, sql`, `)})
      as v(id, status, status_reason, phone_number, status_changed_at, linked_at, qr_raw, qr_expires_at, start_requested_at)
    where c.id = v.id`);
  return changes;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

// ---------------------------------------------------------------------------------------------------
// Messages and chats.

/** Postgres text refuses NUL, and jsonb refuses unpaired surrogates; a poison message must not block the queue forever. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const cleanText = (s: string) => s.replace(/\u0000/g, '').replace(LONE_SURROGATE, '\ufffd');
const cleanNullable = (s: string | null) => (s === null ? null : cleanText(s));
function cleanJson(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  const text = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'string' ? cleanText(x) : x));
  return text === undefined ? null : JSON.parse(text);
}

const isGroup = (chatId: string) => chatId.endsWith('@g.us');
const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The batch's messages and chats, per chunk of messages two statements:
 *   1. insert the messages that are new (a row that exists, the send path's outbound row or an earlier
 *      delivery, is left alone) and upsert their chats, counting as unread only what this statement inserted;
 *   2. fill, in rows that already existed, what they lack (text, JIDs, content); their client_message_id,
 *      status and sent_at stay as they are.
 * Only rows whose connection is the event's tenant's are written.
 */
function messageStatements(events: readonly QueuedEvent[]): Plan<Omit<NewMessage, 'tenantId' | 'connectionPk' | 'connectionId'>[]> {
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
      const content = cleanJson(m.content);
      return {
        pk,
        tenantId,
        m,
        from: cleanNullable(m.from),
        to: cleanNullable(m.to),
        text: cleanNullable(m.text),
        content,
        contentJson: content === null ? null : JSON.stringify(content),
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
          const row = toMessageRow({ ...raw, text: u.text, content: u.content });
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
  content: unknown;
  contentJson: string | null;
}

const ownedBy = (pk: SQL, tenant: SQL) => sql`exists (select 1 from ${connections} c where c.id = ${pk} and c.tenant_id = ${tenant})`;

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
    ${u.m.direction}::text, ${u.from}::text, ${u.to}::text, ${u.m.type}::text, ${u.text}::text, ${u.contentJson}::jsonb,
    ${u.m.provider_message_id}::text, ${u.m.direction === 'inbound' ? 'received' : 'sent'}::text,
    ${u.m.timestamp}::timestamptz, ${u.m.source === 'live'}::boolean)`);

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
    with v (ord, connection_pk, tenant_id, chat_id, direction, from_jid, to_jid, type, text, content, provider_message_id, status, sent_at, live)
      as (values ${sql.join(values, sql`, `)}),
    owned as (select * from v where ${ownedBy(sql`v.connection_pk`, sql`v.tenant_id`)}),
    inserted as (
      insert into ${messages} (connection_pk, chat_id, direction, from_jid, to_jid, type, text, content, provider_message_id, status, sent_at)
      select connection_pk, chat_id, direction, from_jid, to_jid, type, text, content, provider_message_id, status, sent_at
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
    )
    select * from inserted`;
}

/** Fills what rows that existed before the chunk lack; the rows the chunk inserted lack nothing it has. */
function fillMessages(chunk: Upsert[]): SQL {
  const values = chunk.map((u) => sql`(${u.pk}::uuid, ${u.tenantId}::uuid, ${u.m.provider_message_id}::text,
    ${u.from}::text, ${u.to}::text, ${u.text}::text, ${u.contentJson}::jsonb)`);
  return sql`
    update ${messages} as m set
      from_jid = coalesce(m.from_jid, v.from_jid), to_jid = coalesce(m.to_jid, v.to_jid),
      text = coalesce(m.text, v.text), content = coalesce(m.content, v.content), updated_at = ${nowMs}
    from (values ${sql.join(values, sql`, `)}) as v(connection_pk, tenant_id, provider_message_id, from_jid, to_jid, text, content)
    where m.connection_pk = v.connection_pk and m.provider_message_id = v.provider_message_id
      and ${ownedBy(sql`v.connection_pk`, sql`v.tenant_id`)}
      and ((m.from_jid is null and v.from_jid is not null) or (m.to_jid is null and v.to_jid is not null)
        or (m.text is null and v.text is not null) or (m.content is null and v.content is not null))`;
}

/** A new row's columns but its text and content, which the batch has already (and which may be large). */
const RETURNED_MESSAGE_COLUMNS =
  'id, connection_pk, chat_id, direction, from_jid, to_jid, type, client_message_id, provider_message_id, status, error, sent_at, created_at, updated_at';

const asDate = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));

/** A messages row as the drivers answer it, in the shape drizzle gives (dates as Date, ids as numbers). */
function toMessageRow(r: Row): MessageRow {
  return {
    id: Number(r.id),
    connectionPk: String(r.connection_pk),
    chatId: String(r.chat_id),
    direction: r.direction as MessageRow['direction'],
    fromJid: (r.from_jid as string | null) ?? null,
    toJid: (r.to_jid as string | null) ?? null,
    type: String(r.type),
    text: (r.text as string | null) ?? null,
    content: r.content ?? null,
    clientMessageId: (r.client_message_id as string | null) ?? null,
    providerMessageId: (r.provider_message_id as string | null) ?? null,
    status: r.status as MessageStatus,
    error: (r.error as string | null) ?? null,
    sentAt: asDate(r.sent_at)!,
    createdAt: asDate(r.created_at)!,
    updatedAt: asDate(r.updated_at)!,
  };
}

// ---------------------------------------------------------------------------------------------------
// Receipts.

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

interface StatusRow {
  id: number;
  connectionPk: string;
  providerMessageId: string;
  clientMessageId: string | null;
  chatId: string;
  direction: MessageRow['direction'];
  status: MessageStatus;
}

function statusStatements(events: readonly QueuedEvent[]): Plan<StatusRow[]> {
  // Within a batch the furthest status wins: with one total order, that is what applying them in turn gives.
  const best = new Map<string, { pk: string; tenantId: string; providerId: string; status: MessageStatus }>();
  for (const { connection_pk: pk, tenant_id: tenantId, event: e } of events) {
    if (e.type !== 'message.status') continue;
    const key = `${pk} ${e.provider_message_id} ${tenantId}`;
    const seen = best.get(key);
    if (!seen || RANK[e.status] > RANK[seen.status]) best.set(key, { pk, tenantId, providerId: e.provider_message_id, status: e.status });
  }
  const rows = [...best].sort(([a], [b]) => byKey(a, b)).map(([, v]) => v);

  // A receipt for a message we have not stored yet changes nothing (its upsert may still be on its way,
  // and receipts normally follow their message). Kept harmless on purpose: no placeholder rows.
  const statements: SQL[] = [];
  for (let i = 0; i < rows.length; i += CHUNK) {
    const values = rows
      .slice(i, i + CHUNK)
      .map((r) => sql`(${r.pk}::uuid, ${r.tenantId}::uuid, ${r.providerId}::text, ${r.status}::text, ${RANK[r.status]}::int)`);
    statements.push(sql`
      update ${messages} as m set status = v.status, updated_at = ${nowMs}
      from (values ${sql.join(values, sql`, `)}) as v(connection_pk, tenant_id, provider_message_id, status, rank)
      where m.connection_pk = v.connection_pk and m.provider_message_id = v.provider_message_id
        and v.rank > ${rankOf(sql`m.status`)} and ${ownedBy(sql`v.connection_pk`, sql`v.tenant_id`)}
      returning m.id, m.connection_pk, m.provider_message_id, m.client_message_id, m.chat_id, m.direction, m.status`);
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
      })),
  };
}
