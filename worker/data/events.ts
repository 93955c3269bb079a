// Persistence of runner events (the `events` queue) into Postgres: messages, chats, message receipts and
// connection lifecycle (status, QR). Queue delivery is at-least-once, so applying a batch again — or an
// older batch after a newer one — must change nothing: messages are keyed by provider message id, chat
// counters only count rows this call inserted, statuses only move forward, and lifecycle events older
// than the stored state are skipped. One transaction per batch, a handful of statements per batch
// (grouped by event type), never one round trip per event; a batch of receipts alone needs no
// transaction (persistReceipts).
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

/**
 * Stores a batch of queued runner events in one transaction. Idempotent: the same batch applied twice
 * leaves the database as after the first time, and the second outcome is empty.
 */
export async function persistEvents(db: EventsDb, events: readonly QueuedEvent[]): Promise<PersistOutcome> {
  const outcome: PersistOutcome = { messages: [], statuses: [], connections: [], ignored: 0 };
  if (events.length === 0) return outcome;
  return db.transaction(async (tx) => {
    const owners = await ownersOf(tx, events, { lock: true });
    const { accepted, ignored, ref } = owned(events, owners);
    outcome.ignored = ignored;
    outcome.connections = await persistLifecycle(tx, accepted, owners);
    outcome.messages = (await persistMessages(tx, accepted)).map((m) => ({ ...ref(m.row.connectionPk), ...m }));
    outcome.statuses = (await persistStatuses(tx, accepted)).map((r) => statusChange(ref, r));
    return outcome;
  });
}

/** Whether a batch holds receipts only (then `persistReceipts` stores it without a session). */
export const receiptsOnly = (events: readonly QueuedEvent[]) => events.length > 0 && events.every((e) => e.event.type === 'message.status');

/**
 * A batch of receipts alone (most batches after a message's own: the contact's delivery and read). Statuses
 * only move forward, in one UPDATE that is atomic by itself, so they need neither the transaction nor the
 * lock: two plain statements, which the Worker runs over Neon's HTTP driver instead of opening a database
 * session for the batch. Idempotent like persistEvents, with the same outcome.
 */
export async function persistReceipts(db: EventsDb, events: readonly QueuedEvent[]): Promise<PersistOutcome> {
  if (!receiptsOnly(events)) throw new Error('persistReceipts takes message.status events only');
  const { accepted, ignored, ref } = owned(events, await ownersOf(db, events, { lock: false }));
  const statuses = (await persistStatuses(db, accepted)).map((r) => statusChange(ref, r));
  return { messages: [], statuses, connections: [], ignored };
}

type Owner = Awaited<ReturnType<typeof ownersOf>> extends Map<string, infer O> ? O : never;

/**
 * The batch's connection rows, by id. Under `lock` (inside persistEvents' transaction) they are locked in
 * id order, which serializes consumers working on the same connection (see the head of this file).
 */
async function ownersOf(db: Pick<EventsDb, 'select'>, events: readonly QueuedEvent[], { lock }: { lock: boolean }) {
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
  const rows = lock ? await query.for('no key update') : await query;
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

const statusChange = (ref: ReturnType<typeof owned>['ref'], r: StatusRow): MessageStatusChange => ({
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

async function persistMessages(tx: Tx, events: readonly QueuedEvent[]): Promise<Omit<NewMessage, 'tenantId' | 'connectionPk' | 'connectionId'>[]> {
  // One row per (connection, provider id); a duplicate within the batch is the same fact, the last copy wins.
  const latest = new Map<string, { pk: string; m: WireMessage }>();
  for (const { connection_pk: pk, event: e } of events) {
    if (e.type === 'message.upsert') latest.set(`${pk} ${e.message.provider_message_id}`, { pk, m: e.message });
  }
  if (latest.size === 0) return [];
  const upserts = [...latest].sort(([a], [b]) => byKey(a, b)).map(([, v]) => v);

  const values = upserts.map(({ pk, m }) => ({
    connectionPk: pk,
    chatId: m.chat_id,
    direction: m.direction,
    fromJid: cleanNullable(m.from),
    toJid: cleanNullable(m.to),
    type: m.type,
    text: cleanNullable(m.text),
    content: cleanJson(m.content),
    providerMessageId: m.provider_message_id,
    // Another of the account's devices (or history) sent an outbound message that reached WhatsApp.
    status: (m.direction === 'inbound' ? 'received' : 'sent') as MessageStatus,
    sentAt: toMs(m.timestamp),
  }));

  const inserted: MessageRow[] = [];
  for (let i = 0; i < values.length; i += CHUNK) {
    const chunk = values.slice(i, i + CHUNK);
    inserted.push(
      ...(await tx
        .insert(messages)
        .values(chunk)
        .onConflictDoNothing({ target: [messages.connectionPk, messages.providerMessageId] })
        .returning()),
    );
  }

  // Rows that already existed (the send path's outbound rows, or an earlier delivery): fill only what is
  // missing; their client_message_id, status and sent_at stay as they are.
  const insertedKeys = new Set(inserted.map((r) => `${r.connectionPk} ${r.providerMessageId}`));
  const existing = values.filter((v) => !insertedKeys.has(`${v.connectionPk} ${v.providerMessageId}`));
  for (let i = 0; i < existing.length; i += CHUNK) {
    await tx
      .insert(messages)
      .values(existing.slice(i, i + CHUNK))
      .onConflictDoUpdate({
        target: [messages.connectionPk, messages.providerMessageId],
        set: {
          fromJid: sql`coalesce(messages.from_jid, excluded.from_jid)`,
          toJid: sql`coalesce(messages.to_jid, excluded.to_jid)`,
          text: sql`coalesce(messages.text, excluded.text)`,
          content: sql`coalesce(messages.content, excluded.content)`,
          updatedAt: nowMs,
        },
        setWhere: sql`(messages.from_jid is null and excluded.from_jid is not null)
          or (messages.to_jid is null and excluded.to_jid is not null)
          or (messages.text is null and excluded.text is not null)
          or (messages.content is null and excluded.content is not null)`,
      });
  }

  await upsertChats(tx, upserts, inserted);

  const sourceOf = new Map(upserts.map(({ pk, m }) => [`${pk} ${m.provider_message_id}`, m]));
  return inserted.map((row) => {
    const m = sourceOf.get(`${row.connectionPk} ${row.providerMessageId}`)!;
    return { source: m.source, pushName: m.push_name, row };
  });
}

/**
 * Every chat in the batch gets a row; its last message moves to the batch's newest message when that is
 * at least as new as the stored one, and its unread count grows by the inbound live messages this call
 * inserted (history and redeliveries do not count). A 1:1 chat is named by the contact's push name; a
 * group's push names are its participants', so they never name the group: its subject does, which the
 * runner puts on the group's messages when it knows it (`chat_name`).
 */
async function upsertChats(tx: Tx, upserts: { pk: string; m: WireMessage }[], inserted: MessageRow[]) {
  const live = new Set(upserts.filter(({ m }) => m.source === 'live').map(({ pk, m }) => `${pk} ${m.provider_message_id}`));
  const unread = new Map<string, number>();
  for (const r of inserted) {
    if (r.direction !== 'inbound' || !live.has(`${r.connectionPk} ${r.providerMessageId}`)) continue;
    const key = `${r.connectionPk} ${r.chatId}`;
    unread.set(key, (unread.get(key) ?? 0) + 1);
  }

  const perChat = new Map<string, { pk: string; chatId: string; newest: WireMessage; name: string | null; nameAt: number }>();
  for (const { pk, m } of upserts) {
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
  const rows = [...perChat]
    .sort(([a], [b]) => byKey(a, b))
    .map(([key, c]) => ({
      connectionPk: c.pk,
      chatId: c.chatId,
      name: cleanNullable(c.name),
      lastMessageAt: toMs(c.newest.timestamp),
      lastMessageText: cleanNullable(c.newest.text),
      unreadCount: unread.get(key) ?? 0,
    }));

  // `>=` lets a later message with the same (second-resolution) WhatsApp timestamp take over; the name
  // only follows batches that are not older than what is stored, so a replayed old batch cannot revert it.
  const newer = sql`excluded.last_message_at >= chats.last_message_at`;
  for (let i = 0; i < rows.length; i += CHUNK) {
    await tx
      .insert(chats)
      .values(rows.slice(i, i + CHUNK))
      .onConflictDoUpdate({
        target: [chats.connectionPk, chats.chatId],
        set: {
          lastMessageText: sql`case when ${newer} then excluded.last_message_text else chats.last_message_text end`,
          lastMessageAt: sql`greatest(chats.last_message_at, excluded.last_message_at)`,
          name: sql`case when ${newer} then coalesce(excluded.name, chats.name) else chats.name end`,
          unreadCount: sql`chats.unread_count + excluded.unread_count`,
          updatedAt: nowMs,
        },
        setWhere: sql`excluded.unread_count > 0
          or excluded.last_message_at > chats.last_message_at
          or (excluded.last_message_at = chats.last_message_at and excluded.last_message_text is distinct from chats.last_message_text)
          or (${newer} and excluded.name is not null and excluded.name is distinct from chats.name)`,
      });
  }
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

async function persistStatuses(tx: Pick<EventsDb, 'execute'>, events: readonly QueuedEvent[]): Promise<StatusRow[]> {
  // Within a batch the furthest status wins: with one total order, that is what applying them in turn gives.
  const best = new Map<string, { pk: string; providerId: string; status: MessageStatus }>();
  for (const { connection_pk: pk, event: e } of events) {
    if (e.type !== 'message.status') continue;
    const key = `${pk} ${e.provider_message_id}`;
    const seen = best.get(key);
    if (!seen || RANK[e.status] > RANK[seen.status]) best.set(key, { pk, providerId: e.provider_message_id, status: e.status });
  }
  if (best.size === 0) return [];
  const rows = [...best].sort(([a], [b]) => byKey(a, b)).map(([, v]) => v);

  // A receipt for a message we have not stored yet changes nothing (its upsert may still be on its way,
  // and receipts normally follow their message). Kept harmless on purpose: no placeholder rows.
  const changed: StatusRow[] = [];
  for (let i = 0; i < rows.length; i += CHUNK) {
    const values = rows.slice(i, i + CHUNK).map((r) => sql`(${r.pk}::uuid, ${r.providerId}::text, ${r.status}::text, ${RANK[r.status]}::int)`);
    const result = (await tx.execute(sql`
      update ${messages} as m set status = v.status, updated_at = ${nowMs}
      from (values ${sql.join(values, sql`, `)}) as v(connection_pk, provider_message_id, status, rank)
      where m.connection_pk = v.connection_pk and m.provider_message_id = v.provider_message_id
        and v.rank > ${rankOf(sql`m.status`)}
      returning m.id, m.connection_pk, m.provider_message_id, m.client_message_id, m.chat_id, m.direction, m.status`)) as unknown as {
      rows: { id: string | number; connection_pk: string; provider_message_id: string; client_message_id: string | null; chat_id: string; direction: MessageRow['direction']; status: MessageStatus }[];
    };
    for (const r of result.rows) {
      changed.push({
        id: Number(r.id),
        connectionPk: r.connection_pk,
        providerMessageId: r.provider_message_id,
        clientMessageId: r.client_message_id,
        chatId: r.chat_id,
        direction: r.direction,
        status: r.status,
      });
    }
  }
  return changed;
}
