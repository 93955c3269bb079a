// The events pipeline's persistence against a real Postgres: one fresh database for this file, on the
// server in DATABASE_URL, or on an embedded PostgreSQL when it is unset.
import { randomUUID } from 'node:crypto';
import { asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chats, connections, messages, tenants, webhookDeliveries } from '../../../drizzle/schema';
import type { QueuedEvent, RunnerEvent, WireMessage } from '../../../protocol/runner';
import { withDatabase, type NodeDb } from '../../../scripts/lib/database';
import { useFileDatabase } from '../../../test/harness/file-database';
import { eventsStore, httpDb } from '../db';
import { listMessages } from '../messages';
import { markSent } from '../outbound';
import { HTTP_BATCH_MAX_BYTES, persistEvents, type EventsStore } from '.';

const fileDb = useFileDatabase('events');
let db: NodeDb;
let url = '';
// The store the consumer uses: Neon's driver (HTTP batches, WebSocket sessions) through the local proxy.
let store: EventsStore;
beforeAll(() => {
  ({ db, url } = fileDb);
  store = eventsStore({ DATABASE_URL: url, NEON_WS_PROXY: fileDb.proxy });
});

// ---------------------------------------------------------------------------------------------------
// Builders

interface Conn {
  pk: string;
  tenantId: string;
}

async function newConnection(tenantId?: string): Promise<Conn> {
  const tid = tenantId ?? (await db.insert(tenants).values({ name: 'acme' }).returning())[0]!.id;
  const [c] = await db
    .insert(connections)
    .values({ tenantId: tid, connectionId: `c-${randomUUID().slice(0, 8)}`, webhookSecret: 'whsec_test', startRequestedAt: new Date() })
    .returning();
  return { pk: c!.id, tenantId: tid };
}

// Event times come after the connection rows were created (their status_changed_at is the creation time).
const T0 = Math.floor(Date.now() / 1000) * 1000 + 60_000;
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

const queued = (c: Conn, event: RunnerEvent): QueuedEvent => ({ connection_pk: c.pk, tenant_id: c.tenantId, epoch: 1, runner_id: 'runner-1', event });

function upsert(c: Conn, m: Partial<WireMessage> & { id: string; t: number }): QueuedEvent {
  const { id, t, ...rest } = m;
  const message: WireMessage = {
    provider_message_id: id,
    chat_id: '15550001111@s.whatsapp.net',
    direction: 'inbound',
    from: '15550001111@s.whatsapp.net',
    to: null,
    push_name: null,
    type: 'text',
    text: `text of ${id}`,
    content: null,
    timestamp: at(t),
    source: 'live',
    ...rest,
  };
  return queued(c, { id: `upsert:${id}`, at: at(t), type: 'message.upsert', message });
}

const receipt = (c: Conn, id: string, status: Extract<RunnerEvent, { type: 'message.status' }>['status'], t = 100, chat = '15550001111@s.whatsapp.net') =>
  queued(c, { id: `status:${id}:${status}`, at: at(t), type: 'message.status', provider_message_id: id, chat_id: chat, status });

const lifecycle = (c: Conn, t: number, status: Extract<RunnerEvent, { type: 'connection.status' }>['status'], extra: { reason?: string | null; phone_number?: string | null } = {}) =>
  queued(c, { id: `status:${t}:${status}`, at: at(t), type: 'connection.status', status, ...extra });

const qr = (c: Conn, t: number, raw: string) => queued(c, { id: `qr:${raw}`, at: at(t), type: 'qr', qr: raw, expires_at: at(t + 20) });

const messagesOf = (c: Conn) => db.select().from(messages).where(eq(messages.connectionPk, c.pk)).orderBy(asc(messages.id));
const chatsOf = (c: Conn) => db.select().from(chats).where(eq(chats.connectionPk, c.pk)).orderBy(asc(chats.chatId));
const connectionOf = async (c: Conn) => (await db.select().from(connections).where(eq(connections.id, c.pk)))[0]!;
const chatOf = async (c: Conn, chatId = '15550001111@s.whatsapp.net') => (await chatsOf(c)).find((r) => r.chatId === chatId);

// ---------------------------------------------------------------------------------------------------

describe('persisting runner events', () => {
  it('a batch applied twice leaves the same rows and counts unread once', async () => {
    const c = await newConnection();
    const batch = [
      upsert(c, { id: 'A1', t: 1, push_name: 'Alice' }),
      upsert(c, { id: 'A2', t: 2 }),
      upsert(c, { id: 'A2', t: 2 }), // duplicate within the batch
      upsert(c, { id: 'O1', t: 3, direction: 'outbound', from: null, to: '15550001111@s.whatsapp.net', text: 'reply' }),
      receipt(c, 'O1', 'delivered'),
      lifecycle(c, 0, 'connected', { phone_number: '+15559990000' }),
    ];
    const first = await persistEvents(store, batch);
    expect(first.messages.map((m) => m.row.providerMessageId).sort()).toEqual(['A1', 'A2', 'O1']);
    expect(first.messages.every((m) => m.tenantId === c.tenantId && m.connectionPk === c.pk)).toBe(true);
    expect(first.statuses).toMatchObject([{ providerMessageId: 'O1', status: 'delivered' }]);
    expect(first.connections).toMatchObject([{ connectionPk: c.pk, status: 'connected', statusChanged: true }]);

    const snapshot = async () => ({ messages: await messagesOf(c), chats: await chatsOf(c), connection: await connectionOf(c) });
    const before = await snapshot();
    expect(before.messages).toHaveLength(3);
    expect(before.chats).toHaveLength(1);
    expect(before.chats[0]).toMatchObject({ unreadCount: 2, lastMessageText: 'reply', name: 'Alice' });

    const second = await persistEvents(store, batch);
    expect(second).toEqual({ messages: [], statuses: [], connections: [], changes: [], calls: [], ignored: 0, deliveries: [] });
    expect(await snapshot()).toEqual(before); // updated_at included: nothing was touched
  });

  it("the send path's outbound row is completed, never overwritten", async () => {
    const c = await newConnection();
    const sentAt = new Date(T0 + 5000);
    await db.insert(messages).values({
      connectionPk: c.pk,
      chatId: '15550001111@s.whatsapp.net',
      direction: 'outbound',
      toJid: '15550001111@s.whatsapp.net',
      text: 'hello',
      clientMessageId: 'client-1',
      providerMessageId: 'SEND1',
      status: 'pending',
      sentAt,
    });
    const out = await persistEvents(store, [
      upsert(c, { id: 'SEND1', t: 6, direction: 'outbound', from: '15559990000@s.whatsapp.net', to: '15550001111@s.whatsapp.net', text: 'hello', content: { conversation: 'hello' } }),
    ]);
    expect(out.messages).toEqual([]); // not new: the send path reports it
    const [row] = await messagesOf(c);
    expect(row).toMatchObject({
      clientMessageId: 'client-1',
      status: 'pending',
      direction: 'outbound',
      fromJid: '15559990000@s.whatsapp.net',
      content: { conversation: 'hello' },
      sentAt,
    });
    expect(await chatOf(c)).toMatchObject({ lastMessageText: 'hello', unreadCount: 0 });

    const acked = await persistEvents(store, [receipt(c, 'SEND1', 'sent')]);
    expect(acked.statuses).toMatchObject([{ providerMessageId: 'SEND1', clientMessageId: 'client-1', status: 'sent', direction: 'outbound' }]);
    expect((await messagesOf(c))[0]!.status).toBe('sent');
  });

  it("two sends in the same second stay in the order they were sent, whichever of receipt and send answer came first", async () => {
    const c = await newConnection();
    const chat = '15550001111@s.whatsapp.net';
    const second = T0 + 9000; // WhatsApp's timestamp of both: whole seconds
    const send = async (id: string, ms: number) =>
      (await db.insert(messages).values({ connectionPk: c.pk, chatId: chat, direction: 'outbound', toJid: chat, text: id, providerMessageId: id, status: 'pending', sentAt: new Date(second + ms) }).returning())[0]!;
    const first = await send('FIRST', 800);
    const next = await send('NEXT', 900);
    const http = httpDb({ DATABASE_URL: url, NEON_WS_PROXY: fileDb.proxy });
    // The first one's server ack is stored before the send's answer; the next one's answer comes first.
    await persistEvents(store, [receipt(c, 'FIRST', 'sent', 9)]);
    await markSent(http, first.id, new Date(second));
    await markSent(http, next.id, new Date(second));
    const history = await listMessages(http, c.pk, chat, 10);
    expect(history.map((m) => m.text)).toEqual(['NEXT', 'FIRST']);
    expect(history.map((m) => m.status)).toEqual(['sent', 'sent']);
    // A send answered later than it was written (a file uploaded for seconds) takes WhatsApp's time.
    const late = await send('LATE', 950);
    await markSent(http, late.id, new Date(second + 3000));
    expect((await listMessages(http, c.pk, chat, 1))[0]).toMatchObject({ text: 'LATE', sentAt: new Date(second + 3000) });
  });

  it('chats keep the newest message, the contact name, and count unread inbound live messages', async () => {
    const c = await newConnection();
    const group = '120363000000000001@g.us';
    await persistEvents(store, [
      upsert(c, { id: 'N2', t: 20, text: 'newer', push_name: 'Bob' }),
      upsert(c, { id: 'G1', t: 5, chat_id: group, from: '15550002222@s.whatsapp.net', push_name: 'Carol' }),
    ]);
    // An older message arriving later does not replace the last message, but is unread.
    await persistEvents(store, [upsert(c, { id: 'N1', t: 10, text: 'older', push_name: 'Bobby' })]);
    expect(await chatOf(c)).toMatchObject({ lastMessageText: 'newer', lastMessageAt: new Date(T0 + 20_000), unreadCount: 2, name: 'Bob' });
    // Our own message from the phone becomes the last message and does not count as unread.
    await persistEvents(store, [upsert(c, { id: 'O2', t: 30, direction: 'outbound', from: null, text: 'mine' })]);
    expect(await chatOf(c)).toMatchObject({ lastMessageText: 'mine', unreadCount: 2 });
    expect((await messagesOf(c)).find((m) => m.providerMessageId === 'O2')!.status).toBe('sent');
    expect((await messagesOf(c)).find((m) => m.providerMessageId === 'N1')!.status).toBe('received');
    // A participant's push name never names a group.
    expect(await chatOf(c, group)).toMatchObject({ name: null, unreadCount: 1 });
  });

  it('messages of the same second keep the order WhatsApp reported them in, and the last is the chat\'s last message', async () => {
    const c = await newConnection();
    // Provider ids sort against the order of arrival (they are random in WhatsApp).
    await persistEvents(store, [upsert(c, { id: 'Z1', t: 7, text: 'first' }), upsert(c, { id: 'A2', t: 7, text: 'second' }), upsert(c, { id: 'M3', t: 7, text: 'third' })]);
    expect((await messagesOf(c)).map((m) => m.text)).toEqual(['first', 'second', 'third']);
    expect(await chatOf(c)).toMatchObject({ lastMessageText: 'third', unreadCount: 3 });
    // And across batches: the next one of the same second takes over.
    await persistEvents(store, [upsert(c, { id: 'B4', t: 7, text: 'fourth' })]);
    expect(await chatOf(c)).toMatchObject({ lastMessageText: 'fourth', unreadCount: 4 });
  });

  it('a group chat is named by its subject, and follows a rename; a message without one keeps the name', async () => {
    const c = await newConnection();
    const group = '120363000000000002@g.us';
    const inGroup = { chat_id: group, from: '15550002222@s.whatsapp.net', push_name: 'Carol' };
    await persistEvents(store, [upsert(c, { id: 'S1', t: 5, ...inGroup })]);
    expect(await chatOf(c, group)).toMatchObject({ name: null });
    await persistEvents(store, [upsert(c, { id: 'S2', t: 6, ...inGroup, chat_name: 'Team' })]);
    expect(await chatOf(c, group)).toMatchObject({ name: 'Team' });
    await persistEvents(store, [upsert(c, { id: 'S3', t: 7, ...inGroup })]);
    expect(await chatOf(c, group)).toMatchObject({ name: 'Team', lastMessageText: 'text of S3' });
    await persistEvents(store, [upsert(c, { id: 'S4', t: 8, ...inGroup, chat_name: 'Team (renamed)' })]);
    // A replayed older batch does not take the old name back.
    await persistEvents(store, [upsert(c, { id: 'S2', t: 6, ...inGroup, chat_name: 'Team' })]);
    expect(await chatOf(c, group)).toMatchObject({ name: 'Team (renamed)' });
  });

  it('history sync fills messages and chats without bumping unread', async () => {
    const c = await newConnection();
    const out = await persistEvents(store, [
      upsert(c, { id: 'H1', t: 1, source: 'history' }),
      upsert(c, { id: 'H2', t: 2, source: 'history', text: 'last of history' }),
      upsert(c, { id: 'H3', t: 3, source: 'history', direction: 'outbound', from: null }),
    ]);
    expect(out.messages.map((m) => m.source)).toEqual(['history', 'history', 'history']);
    expect(await chatOf(c)).toMatchObject({ unreadCount: 0, lastMessageText: 'text of H3' });
    await persistEvents(store, [upsert(c, { id: 'L1', t: 4 })]);
    expect(await chatOf(c)).toMatchObject({ unreadCount: 1, lastMessageText: 'text of L1' });
  });

  it('a receipt moves a message only when its chat matches too', async () => {
    const c = await newConnection();
    await persistEvents(store, [upsert(c, { id: 'R1', t: 1, direction: 'outbound', from: null })]);
    const elsewhere = queued(c, { id: 'status:R1:read:x', at: at(100), type: 'message.status', provider_message_id: 'R1', chat_id: '15559999999@s.whatsapp.net', status: 'read' });
    expect((await persistEvents(store, [elsewhere])).statuses).toEqual([]);
    expect((await messagesOf(c)).find((m) => m.providerMessageId === 'R1')!.status).toBe('sent');
    await persistEvents(store, [receipt(c, 'R1', 'read')]);
    expect((await messagesOf(c)).find((m) => m.providerMessageId === 'R1')!.status).toBe('read');
  });

  it('message status only moves forward', async () => {
    const c = await newConnection();
    const out = (id: string) => upsert(c, { id, t: 1, direction: 'outbound', from: null });
    await persistEvents(store, ['S1', 'S2', 'S3', 'S4'].map(out));
    const statusOf = async (id: string) => (await messagesOf(c)).find((m) => m.providerMessageId === id)!.status;

    await persistEvents(store, [receipt(c, 'S1', 'read')]);
    const late = await persistEvents(store, [receipt(c, 'S1', 'delivered'), receipt(c, 'S1', 'sent')]);
    expect(late.statuses).toEqual([]);
    expect(await statusOf('S1')).toBe('read');

    // Within one batch the furthest status wins, whatever the order.
    await persistEvents(store, [receipt(c, 'S2', 'played'), receipt(c, 'S2', 'delivered')]);
    expect(await statusOf('S2')).toBe('played');

    // 'failed' ends a sent message, but not a delivered one; a delivery receipt still beats 'failed'.
    await persistEvents(store, [receipt(c, 'S3', 'failed')]);
    expect(await statusOf('S3')).toBe('failed');
    await persistEvents(store, [receipt(c, 'S3', 'delivered')]);
    expect(await statusOf('S3')).toBe('delivered');
    await persistEvents(store, [receipt(c, 'S3', 'failed')]);
    expect(await statusOf('S3')).toBe('delivered');

    // A receipt for a message not stored (yet) is harmless.
    const unknown = await persistEvents(store, [receipt(c, 'NOPE', 'read'), receipt(c, 'S4', 'delivered')]);
    expect(unknown.statuses.map((s) => s.providerMessageId)).toEqual(['S4']);
    expect(await messagesOf(c)).toHaveLength(4);
  });

  it('an out-of-order connection.status does not regress the connection', async () => {
    const c = await newConnection();
    await persistEvents(store, [lifecycle(c, 20, 'connected', { phone_number: '+15559990000' })]);
    const stale = await persistEvents(store, [lifecycle(c, 10, 'disconnected', { reason: 'connection_lost' })]);
    expect(stale.connections).toEqual([]);
    expect(await connectionOf(c)).toMatchObject({ status: 'connected', statusReason: null, statusChangedAt: new Date(T0 + 20_000) });

    // A newer one applies; a missing phone number keeps the known one.
    await persistEvents(store, [lifecycle(c, 30, 'disconnected', { reason: 'connection_lost', phone_number: null })]);
    expect(await connectionOf(c)).toMatchObject({ status: 'disconnected', statusReason: 'connection_lost', phoneNumber: '+15559990000' });

    // Within one batch, time order decides, not batch order.
    await persistEvents(store, [lifecycle(c, 50, 'connected'), lifecycle(c, 40, 'connecting')]);
    expect((await connectionOf(c)).status).toBe('connected');
  });

  it('QR codes and the connected transition', async () => {
    const c = await newConnection();
    const first = await persistEvents(store, [qr(c, 1, 'QR-1')]);
    expect(first.connections).toMatchObject([{ status: 'connecting', statusChanged: true, qrChanged: true, qr: { raw: 'QR-1' } }]);
    expect(await connectionOf(c)).toMatchObject({ status: 'connecting', qrRaw: 'QR-1', qrExpiresAt: new Date(T0 + 21_000), statusChangedAt: new Date(T0 + 1000) });

    // A rotated QR replaces it without a status change; an older one (redelivered late) does not.
    const rotated = await persistEvents(store, [qr(c, 21, 'QR-2')]);
    expect(rotated.connections).toMatchObject([{ statusChanged: false, qrChanged: true, qr: { raw: 'QR-2' } }]);
    expect((await persistEvents(store, [qr(c, 1, 'QR-1')])).connections).toEqual([]);
    expect((await connectionOf(c)).qrRaw).toBe('QR-2');

    // Scanned: connected, QR cleared, linked_at and phone set; a later QR does not land on a connected connection.
    await persistEvents(store, [lifecycle(c, 30, 'connected', { phone_number: '+15559990000' }), qr(c, 31, 'QR-3')]);
    const linked = await connectionOf(c);
    expect(linked).toMatchObject({ status: 'connected', qrRaw: null, qrExpiresAt: null, phoneNumber: '+15559990000', linkedAt: new Date(T0 + 30_000) });

    // Reconnecting later keeps the first linked_at.
    await persistEvents(store, [lifecycle(c, 40, 'disconnected', { reason: 'connection_lost' }), lifecycle(c, 41, 'connected')]);
    expect(await connectionOf(c)).toMatchObject({ status: 'connected', statusReason: null, linkedAt: new Date(T0 + 30_000) });

    // Unlinked from the phone: QR and link gone.
    await persistEvents(store, [qr(c, 50, 'QR-4'), lifecycle(c, 51, 'logged_out', { reason: 'logged_out' })]);
    expect(await connectionOf(c)).toMatchObject({ status: 'logged_out', statusReason: 'logged_out', qrRaw: null, linkedAt: null, startRequestedAt: null });
  });

  it('a QR clears the reason a connecting connection had (e.g. its runner was unreachable)', async () => {
    const c = await newConnection();
    await persistEvents(store, [lifecycle(c, 1, 'connecting', { reason: 'runner_unreachable' })]);
    expect(await connectionOf(c)).toMatchObject({ status: 'connecting', statusReason: 'runner_unreachable' });
    await persistEvents(store, [qr(c, 2, 'QR-1')]);
    expect(await connectionOf(c)).toMatchObject({ status: 'connecting', statusReason: null, qrRaw: 'QR-1' });
  });

  it('a QR that nobody scans, or a server that fails its certificate checks, ends the start request', async () => {
    const c = await newConnection();
    expect((await connectionOf(c)).startRequestedAt).not.toBeNull();
    await persistEvents(store, [qr(c, 1, 'QR-1'), lifecycle(c, 60, 'disconnected', { reason: 'qr_timeout' })]);
    expect(await connectionOf(c)).toMatchObject({ status: 'disconnected', statusReason: 'qr_timeout', qrRaw: null, qrExpiresAt: null, startRequestedAt: null });

    const u = await newConnection();
    await persistEvents(store, [lifecycle(u, 1, 'disconnected', { reason: 'untrusted_server' })]);
    expect(await connectionOf(u)).toMatchObject({ status: 'disconnected', statusReason: 'untrusted_server', startRequestedAt: null });

    const r = await newConnection();
    await persistEvents(store, [qr(r, 1, 'QR-R'), lifecycle(r, 2, 'replaced', { reason: 'conflict' })]);
    expect(await connectionOf(r)).toMatchObject({ status: 'replaced', statusReason: 'conflict', qrRaw: null });
  });

  it('a batch without lifecycle events is one round trip and no database session; one with them opens a session', async () => {
    const c = await newConnection();
    const before = fileDb.served();
    const out = await persistEvents(store, [upsert(c, { id: 'H1', t: 1 }), receipt(c, 'H1', 'read'), upsert(c, { id: 'H2', t: 2 })]);
    // A receipt for a message of the same batch applies: the statements run in order.
    expect(out.statuses).toMatchObject([{ providerMessageId: 'H1', status: 'read', connectionPk: c.pk, tenantId: c.tenantId }]);
    expect(out.messages.map((m) => m.row)).toMatchObject([
      { providerMessageId: 'H1', status: 'received', sentAt: new Date(at(1)), connectionPk: c.pk, text: 'text of H1', content: null },
      { providerMessageId: 'H2', status: 'received' },
    ]);
    const afterBatch = fileDb.served();
    expect(afterBatch).toEqual({ sessions: before.sessions, httpQueries: before.httpQueries + 1 });
    expect(await persistEvents(store, [receipt(c, 'H2', 'read'), receipt(c, 'H1', 'delivered')])).toMatchObject({
      statuses: [{ providerMessageId: 'H2', status: 'read' }],
    });
    expect(fileDb.served()).toEqual({ sessions: afterBatch.sessions, httpQueries: afterBatch.httpQueries + 1 });
    await persistEvents(store, [lifecycle(c, 5, 'connected'), upsert(c, { id: 'H3', t: 6 })]);
    expect(fileDb.served().sessions).toBe(afterBatch.sessions + 1);
    expect(await chatOf(c)).toMatchObject({ unreadCount: 3, lastMessageText: 'text of H3' });
    expect((await connectionOf(c)).status).toBe('connected');
  });

  it('a batch too large for one HTTP request (history with rich content) is stored over a session', async () => {
    const c = await newConnection();
    const big = 'x'.repeat(20 * 1024);
    const batch = Array.from({ length: 60 }, (_, i) => upsert(c, { id: `L${i}`, t: i, text: `${i}:${big}`, source: 'history' }));
    expect(JSON.stringify(batch).length).toBeGreaterThan(HTTP_BATCH_MAX_BYTES);
    const before = fileDb.served();
    const out = await persistEvents(store, batch);
    expect(fileDb.served().sessions).toBe(before.sessions + 1);
    expect(out.messages).toHaveLength(60);
    expect(out.messages[0]!.row.text).toBe(`0:${big}`);
    expect(await messagesOf(c)).toHaveLength(60);
    expect(await chatOf(c)).toMatchObject({ unreadCount: 0, lastMessageText: `59:${big}` });
  });

  it('without lifecycle events too, a deleted connection or another tenant\'s claim is ignored and never written', async () => {
    const gone = await newConnection();
    const a = await newConnection();
    const b = await newConnection();
    await persistEvents(store, [upsert(a, { id: 'T1', t: 1, direction: 'outbound', from: null })]);
    await db.delete(connections).where(eq(connections.id, gone.pk));
    const claim = (e: QueuedEvent): QueuedEvent => ({ ...e, tenant_id: b.tenantId });
    const out = await persistEvents(store, [
      upsert(gone, { id: 'G1', t: 1 }),
      receipt(gone, 'G1', 'read'),
      claim(upsert(a, { id: 'T2', t: 2 })),
      claim(receipt(a, 'T1', 'read')),
      upsert(b, { id: 'T3', t: 3 }),
      upsert(b, { id: 'T4', t: 4, text: 'mine' }),
      // The same message claimed under another tenant, later in the batch: it neither wins nor lands.
      { ...upsert(b, { id: 'T4', t: 4, text: 'theirs' }), tenant_id: a.tenantId },
    ]);
    expect(out).toMatchObject({ ignored: 5, statuses: [] });
    expect(out.messages.map((m) => [m.row.providerMessageId, m.tenantId, m.row.text])).toEqual([
      ['T3', b.tenantId, 'text of T3'],
      ['T4', b.tenantId, 'mine'],
    ]);
    expect((await messagesOf(b)).map((m) => m.text)).toEqual(['text of T3', 'mine']);
    expect(await messagesOf(a)).toMatchObject([{ providerMessageId: 'T1', status: 'sent' }]);
    expect(await chatOf(a)).toMatchObject({ unreadCount: 0 });
  });

  it('overlapping batches stored at once count each message once', async () => {
    const c = await newConnection();
    const batches = [0, 1, 2, 3].map((k) => [
      upsert(c, { id: `P${k}`, t: 10 + k }),
      upsert(c, { id: 'SHARED', t: 5 }),
      upsert(c, { id: `P${(k + 1) % 4}`, t: 10 + ((k + 1) % 4) }),
    ]);
    const outs = await Promise.all(batches.map((batch) => persistEvents(store, batch)));
    expect(outs.flatMap((o) => o.messages.map((m) => m.row.providerMessageId)).sort()).toEqual(['P0', 'P1', 'P2', 'P3', 'SHARED']);
    expect(await messagesOf(c)).toHaveLength(5);
    expect(await chatOf(c)).toMatchObject({ unreadCount: 5, lastMessageText: 'text of P3' });
  });

  it('events for a deleted connection are ignored, the rest of the batch is stored', async () => {
    const gone = await newConnection();
    const kept = await newConnection();
    await db.delete(connections).where(eq(connections.id, gone.pk));
    const out = await persistEvents(store, [
      upsert(gone, { id: 'X1', t: 1 }),
      lifecycle(gone, 2, 'connected'),
      qr(gone, 3, 'QR-X'),
      receipt(gone, 'X1', 'read'),
      upsert(kept, { id: 'K1', t: 1 }),
    ]);
    expect(out.ignored).toBe(4);
    expect(out.messages.map((m) => m.row.providerMessageId)).toEqual(['K1']);
    expect(await messagesOf(gone)).toEqual([]);
    expect(await messagesOf(kept)).toHaveLength(1);
  });

  it('500 events are stored in one call', async () => {
    const c = await newConnection();
    const batch: QueuedEvent[] = [];
    for (let i = 0; i < 400; i++) {
      batch.push(upsert(c, { id: `B${i}`, t: i, chat_id: `1555000${String(i % 10).padStart(4, '0')}@s.whatsapp.net`, source: i < 100 ? 'history' : 'live' }));
    }
    for (let i = 0; i < 100; i++) batch.push(receipt(c, `B${i}`, 'read', 100, `1555000${String(i % 10).padStart(4, '0')}@s.whatsapp.net`));
    const started = performance.now();
    const out = await persistEvents(store, batch);
    const ms = performance.now() - started;
    expect(out.messages).toHaveLength(400);
    expect(out.statuses).toHaveLength(100);
    expect(await messagesOf(c)).toHaveLength(400);
    const rows = await chatsOf(c);
    expect(rows).toHaveLength(10);
    expect(rows.reduce((n, r) => n + r.unreadCount, 0)).toBe(300);
    expect(rows.find((r) => r.chatId === '15550000009@s.whatsapp.net')).toMatchObject({ lastMessageText: 'text of B399', unreadCount: 30 });
    expect(ms).toBeLessThan(10_000);
    // And again: nothing new.
    expect(await persistEvents(store, batch)).toEqual({ messages: [], statuses: [], connections: [], changes: [], calls: [], ignored: 0, deliveries: [] });
    expect((await chatsOf(c)).reduce((n, r) => n + r.unreadCount, 0)).toBe(300);
  });

  it("two tenants' connections never bleed into each other", async () => {
    const a = await newConnection();
    const b = await newConnection();
    await persistEvents(store, [
      upsert(a, { id: 'SAME', t: 1, text: 'for a' }),
      upsert(b, { id: 'SAME', t: 2, text: 'for b' }),
      receipt(a, 'SAME', 'read'),
      lifecycle(b, 5, 'connected'),
      // Claims connection a under tenant b: dropped, never written to a.
      queued({ pk: a.pk, tenantId: b.tenantId }, { id: 'x', at: at(9), type: 'connection.status', status: 'logged_out' }),
    ]);
    const [ma] = await messagesOf(a);
    const [mb] = await messagesOf(b);
    expect(ma).toMatchObject({ text: 'for a', status: 'read' });
    expect(mb).toMatchObject({ text: 'for b', status: 'received' });
    expect(await chatOf(a)).toMatchObject({ lastMessageText: 'for a', unreadCount: 1 });
    expect(await chatOf(b)).toMatchObject({ lastMessageText: 'for b', unreadCount: 1 });
    expect((await connectionOf(a)).status).toBe('disconnected');
    expect((await connectionOf(b)).status).toBe('connected');
  });

  it('text Postgres cannot store does not poison the batch', async () => {
    const c = await newConnection();
    await persistEvents(store, [upsert(c, { id: 'NUL', t: 1, text: 'a\u0000b\ud800c', content: { conversation: 'x\u0000y\udc00' } })]);
    expect((await messagesOf(c))[0]).toMatchObject({ text: 'ab\ufffdc', content: { conversation: 'xy\ufffd' } });
  });
});

// ---------------------------------------------------------------------------------------------------
// The webhook outbox: deliveries are written by the same statements that store the events.

describe('webhook deliveries in the outbox', () => {
  const subscribe = async (c: Conn, events: string[]) =>
    db.update(connections).set({ webhookUrl: 'https://hooks.example.com/in', webhookEvents: events }).where(eq(connections.id, c.pk));
  const deliveriesOf = (c: Conn) => db.select().from(webhookDeliveries).where(eq(webhookDeliveries.connectionPk, c.pk)).orderBy(asc(webhookDeliveries.sequence));

  it('a live inbound message makes one message.received delivery per subscribed connection, numbered in order; a replay makes none', async () => {
    const c = await newConnection();
    const quiet = await newConnection(c.tenantId); // no webhook
    await subscribe(c, ['message.received']);
    const batch = [
      upsert(c, { id: 'W1', t: 1, push_name: 'Alice' }),
      upsert(c, { id: 'W2', t: 2 }),
      upsert(c, { id: 'H1', t: 0, source: 'history' }), // history is not news
      upsert(c, { id: 'O1', t: 3, direction: 'outbound', from: null }), // not subscribed: message.sent
      upsert(quiet, { id: 'Q1', t: 1 }),
    ];
    const out = await persistEvents(store, batch);
    const rows = await deliveriesOf(c);
    expect(rows.map((r) => [r.eventType, r.sequence, r.state])).toEqual([
      ['message.received', 1, 'pending'],
      ['message.received', 2, 'pending'],
    ]);
    expect(rows[0]!.data).toEqual({ push_name: 'Alice' });
    expect(out.deliveries.sort()).toEqual(rows.map((r) => r.id).sort());
    expect(await deliveriesOf(quiet)).toEqual([]);
    expect((await connectionOf(c)).webhookSequence).toBe(2);

    expect((await persistEvents(store, batch)).deliveries).toEqual([]);
    expect(await deliveriesOf(c)).toHaveLength(2);
    // The next delivery continues the count.
    await persistEvents(store, [upsert(c, { id: 'W3', t: 4 })]);
    expect((await deliveriesOf(c)).map((r) => r.sequence)).toEqual([1, 2, 3]);
  });

  it('receipts make message.status deliveries, and the first that shows the message reached WhatsApp also message.sent', async () => {
    const c = await newConnection();
    await subscribe(c, ['message.sent', 'message.status']);
    await db.insert(messages).values({ connectionPk: c.pk, chatId: '15550001111@s.whatsapp.net', direction: 'outbound', providerMessageId: 'S1', status: 'pending', clientMessageId: 'mine-1' });
    // Over a session too (a lifecycle event in the batch): the same statements, the same deliveries.
    await persistEvents(store, [receipt(c, 'S1', 'delivered', 10), lifecycle(c, 0, 'connected')]);
    await persistEvents(store, [receipt(c, 'S1', 'read', 11)]);
    await persistEvents(store, [receipt(c, 'S1', 'read', 11), receipt(c, 'S1', 'delivered', 12)]); // nothing moves
    const rows = await deliveriesOf(c);
    expect(rows.map((r) => [r.eventType, (r.data as { status?: string } | null)?.status ?? null])).toEqual([
      ['message.sent', null],
      ['message.status', 'delivered'],
      ['message.status', 'read'],
    ]);
    expect(rows.map((r) => r.sequence)).toEqual([1, 2, 3]);
  });

  it('lifecycle changes make connection.status and qr.updated deliveries when subscribed', async () => {
    const c = await newConnection();
    await subscribe(c, ['connection.status', 'qr.updated']);
    const shown = await persistEvents(store, [qr(c, 1, 'QR-ONE')]);
    const linked = await persistEvents(store, [lifecycle(c, 2, 'connected', { phone_number: '+15550009999' })]);
    const rows = await deliveriesOf(c);
    // The QR made the connection `connecting` (a status change of its own), then it connected.
    expect(rows.map((r) => r.eventType)).toEqual(['connection.status', 'qr.updated', 'connection.status']);
    expect(rows[0]!.data).toMatchObject({ status: 'connecting' });
    expect(rows[1]!.data).toMatchObject({ qr_raw: 'QR-ONE' });
    expect(rows[2]!.data).toMatchObject({ status: 'connected', phone_number: '+15550009999' });
    expect([...shown.deliveries, ...linked.deliveries]).toHaveLength(3);
    // A QR superseded within its own batch is never told.
    await persistEvents(store, [qr(c, 3, 'QR-TWO'), lifecycle(c, 4, 'disconnected', { reason: 'qr_timeout' })]);
    expect((await deliveriesOf(c)).filter((r) => r.eventType === 'qr.updated')).toHaveLength(1);
  });

  it('a call is stored once and makes one call.received delivery; a replay, or a tenant that does not own the connection, makes none', async () => {
    const c = await newConnection();
    await subscribe(c, ['call.received']);
    const offer = (id: string, extra: Partial<Extract<RunnerEvent, { type: 'call.offer' }>['call']> = {}) =>
      queued(c, {
        id: `call:${id}`,
        at: at(5),
        type: 'call.offer',
        call: {
          call_id: id, from: '15550001111@s.whatsapp.net', chat_id: '15550001111@s.whatsapp.net', is_video: false, is_group: false,
          group_id: null, offline: false, timestamp: at(5), rejected: true, reject_message_id: 'R1', ...extra,
        },
      });
    const first = await persistEvents(store, [offer('C1'), offer('C2', { is_video: true, rejected: false, reject_message_id: null })]);
    expect(first.calls.map((x) => [x.call.id, x.call.from, x.call.rejected, x.call.is_video])).toEqual([
      ['C1', '15550001111', true, false],
      ['C2', '15550001111', false, true],
    ]);
    const rows = await deliveriesOf(c);
    expect(rows.map((r) => [r.eventType, r.sequence])).toEqual([
      ['call.received', 1],
      ['call.received', 2],
    ]);
    expect(rows[0]!.data).toMatchObject({ call: { id: 'C1', chat_id: '15550001111@s.whatsapp.net', rejected: true, reject_message_id: 'R1' } });
    // The runner resends after a lost acknowledgement: nothing is told twice.
    const again = await persistEvents(store, [offer('C1')]);
    expect(again.calls).toEqual([]);
    expect(again.deliveries).toEqual([]);
    expect(await deliveriesOf(c)).toHaveLength(2);
    // A batch claiming another tenant's connection writes nothing.
    const stranger = await newConnection();
    const forged = { ...offer('C3'), tenant_id: stranger.tenantId };
    expect((await persistEvents(store, [forged])).calls).toEqual([]);
    expect(await deliveriesOf(c)).toHaveLength(2);
  });
});

// The consumer runs in workerd against Neon's driver; here it runs in Node, through the same driver and
// the local WebSocket-to-Postgres proxy the dev stack uses. Its module needs Cloudflare's global types,
// which the Node type-check does not have, hence the untyped import.
describe('the events queue consumer', () => {
  type Consumer = (batch: unknown, env: unknown, ctx: unknown) => Promise<void>;
  let consumeEvents: Consumer;
  let retryDelaySeconds: (attempts: number) => number;
  let SPLIT_AFTER_ATTEMPTS: number;

  beforeAll(async () => {
    const path = '../../queues/events';
    ({ consumeEvents, retryDelaySeconds, SPLIT_AFTER_ATTEMPTS } = await import(/* @vite-ignore */ path));
  });

  function fakeBatch(bodies: unknown[], attempts: number) {
    const seen = { acked: [] as string[], retried: [] as { id: string; delaySeconds?: number }[] };
    const batch = {
      queue: 'events',
      messages: bodies.map((body, i) => ({
        id: `msg-${i}`,
        timestamp: new Date(),
        body,
        attempts,
        ack: () => seen.acked.push(`msg-${i}`),
        retry: (o?: { delaySeconds?: number }) => seen.retried.push({ id: `msg-${i}`, ...o }),
      })),
      ackAll: () => {
        throw new Error('the consumer settles each message');
      },
      retryAll: () => {
        throw new Error('the consumer settles each message');
      },
    };
    return { batch, seen };
  }

  async function run(bodies: unknown[], databaseUrl: string, attempts = 1) {
    const { batch, seen } = fakeBatch(bodies, attempts);
    const pending: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => pending.push(p), passThroughOnException: () => {} };
    const errors: unknown[] = [];
    const log = console.error;
    console.error = (...args: unknown[]) => errors.push(args.join(' '));
    try {
      await consumeEvents(batch, { DATABASE_URL: databaseUrl, NEON_WS_PROXY: fileDb.proxy }, ctx);
      await Promise.all(pending);
    } finally {
      console.error = log;
    }
    return { ...seen, errors };
  }

  it('stores a batch through the Worker driver and acknowledges it; an invalid body is dropped', async () => {
    const c = await newConnection();
    const result = await run([upsert(c, { id: 'Q1', t: 1 }), { nonsense: true }, lifecycle(c, 2, 'connected'), receipt(c, 'Q1', 'read')], url);
    expect(result.acked.sort()).toEqual(['msg-0', 'msg-1', 'msg-2', 'msg-3']);
    expect(result.retried).toEqual([]);
    expect(result.errors.join('\n')).toContain('invalid queued event dropped');
    expect(await messagesOf(c)).toMatchObject([{ providerMessageId: 'Q1', status: 'read' }]);
    expect((await connectionOf(c)).status).toBe('connected');
  });

  it('a batch of messages and receipts goes over the HTTP driver (no database session) and is acknowledged', async () => {
    const c = await newConnection();
    const before = fileDb.served();
    const result = await run([upsert(c, { id: 'Q3', t: 1, direction: 'outbound', from: null }), receipt(c, 'Q3', 'delivered'), receipt(c, 'Q3', 'read')], url);
    expect(result).toMatchObject({ acked: ['msg-0', 'msg-1', 'msg-2'], retried: [] });
    expect(fileDb.served()).toEqual({ sessions: before.sessions, httpQueries: before.httpQueries + 1 });
    expect((await messagesOf(c))[0]).toMatchObject({ providerMessageId: 'Q3', status: 'read' });
    // And retried, not acknowledged, when Postgres cannot be reached.
    const down = await run([receipt(c, 'Q3', 'read')], withDatabase(url, 'no_such_database'), 2);
    expect(down).toMatchObject({ acked: [], retried: [{ id: 'msg-0', delaySeconds: retryDelaySeconds(2) }] });
  });

  it('nothing is acknowledged while Postgres is unreachable: the batch retries with backoff', async () => {
    const c = await newConnection();
    const result = await run([upsert(c, { id: 'Q2', t: 1 })], withDatabase(url, 'no_such_database'), 3);
    expect(result.acked).toEqual([]);
    expect(result.retried).toEqual([{ id: 'msg-0', delaySeconds: retryDelaySeconds(3) }]);
    expect(retryDelaySeconds(3)).toBeGreaterThan(retryDelaySeconds(1));
    expect(retryDelaySeconds(100)).toBe(300);
    expect(await messagesOf(c)).toEqual([]);

    const unconfigured = await run([upsert(c, { id: 'Q2', t: 1 })], '');
    expect(unconfigured).toMatchObject({ acked: [], retried: [{ id: 'msg-0', delaySeconds: retryDelaySeconds(1) }] });
  });

  it('a batch that keeps failing is split: its neighbours are stored, only the event Postgres refuses is retried', async () => {
    const c = await newConnection();
    const good = Array.from({ length: 7 }, (_, i) => upsert(c, { id: `P${i}`, t: i + 1 }));
    // A timestamp Postgres refuses (year 0 is a valid ISO string, not a Postgres date): one poison event.
    const poison = upsert(c, { id: 'POISON', t: 9, timestamp: '0000-01-01T00:00:00.000Z' });
    const bodies = [...good.slice(0, 3), poison, ...good.slice(3)];
    // Early attempts retry everything (an outage fails every event alike) ...
    const early = await run(bodies, url, 1);
    expect(early.acked).toEqual([]);
    expect(early.retried).toHaveLength(8);
    // ... and once it has failed often enough, the batch is split down to the one that fails.
    const late = await run(bodies, url, SPLIT_AFTER_ATTEMPTS);
    expect(late.retried.map((r) => r.id)).toEqual(['msg-3']);
    expect(late.acked.sort()).toEqual(['msg-0', 'msg-1', 'msg-2', 'msg-4', 'msg-5', 'msg-6', 'msg-7']);
    expect((await messagesOf(c)).map((m) => m.providerMessageId).sort()).toEqual(good.map((g) => (g.event as { message: { provider_message_id: string } }).message.provider_message_id).sort());
  });
});

describe('dead-lettered events', () => {
  type Fn = (...args: unknown[]) => Promise<unknown>;
  let consumeDeadEvents: Fn;
  let redriveDeadEvents: Fn;
  beforeAll(async () => {
    const path = '../../queues/dead-events';
    ({ consumeDeadEvents, redriveDeadEvents } = await import(/* @vite-ignore */ path));
  });

  it('are kept in Postgres, acknowledged only then, and go back on the events queue when an operator asks', async () => {
    const c = await newConnection();
    const bodies = [upsert(c, { id: 'D1', t: 1 }), receipt(c, 'D1', 'read')];
    const seen = { acked: false, retried: false };
    const env = { DATABASE_URL: url, NEON_WS_PROXY: fileDb.proxy };
    await consumeDeadEvents(
      { queue: 'events-dlq', messages: bodies.map((body) => ({ body, attempts: 101 })), ackAll: () => (seen.acked = true), retryAll: () => (seen.retried = true) },
      env,
    );
    expect(seen).toEqual({ acked: true, retried: false });
    const { rows } = await db.execute<{ id: string; body: unknown }>(sql`select id, body from dead_events where body->>'connection_pk' = ${c.pk} order by id`);
    expect(rows.map((r) => r.body)).toEqual(bodies);

    // Nothing goes back until asked (npm run admin -- redrive-events marks them).
    const sent: unknown[] = [];
    const events = { sendBatch: async (msgs: { body: unknown }[]) => void sent.push(...msgs.map((m) => m.body)) };
    expect(await redriveDeadEvents({ ...env, EVENTS: events })).toBe(0);
    await db.execute(sql`update dead_events set redrive_requested_at = now() where body->>'connection_pk' = ${c.pk}`);
    expect(await redriveDeadEvents({ ...env, EVENTS: events })).toBe(2);
    expect(sent).toEqual(bodies);
    expect((await db.execute(sql`select 1 from dead_events where body->>'connection_pk' = ${c.pk}`)).rows).toEqual([]);

    // Postgres away: not acknowledged, retried.
    const down = { acked: false, retried: false };
    await consumeDeadEvents(
      { queue: 'events-dlq', messages: [{ body: bodies[0], attempts: 1 }], ackAll: () => (down.acked = true), retryAll: () => (down.retried = true) },
      { DATABASE_URL: withDatabase(url, 'no_such_database'), NEON_WS_PROXY: fileDb.proxy },
    );
    expect(down).toEqual({ acked: false, retried: true });
  });
});
