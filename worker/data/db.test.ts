// The Worker's Postgres access over HTTP (Neon's `neon()` under drizzle) against a real Postgres behind
// the local Neon proxy, and the send path's one-round-trip outbound statement built on it.
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiKeys, connections, messages, tenants } from '../../drizzle/schema';
import { useFileDatabase } from '../../test/harness/file-database';
import { httpDb, type Db } from './db';
import { openOutbound, providerIdFor, requestHashOf, type OutboundDraft } from './outbound';
import { sha256Hex } from '../auth/credentials';

const fileDb = useFileDatabase('http_driver');
let db: Db;

beforeAll(() => {
  db = httpDb({ DATABASE_URL: fileDb.url, NEON_WS_PROXY: fileDb.proxy });
});

async function newConnection(status: 'connected' | 'disconnected' = 'connected') {
  const [tenant] = await fileDb.db.insert(tenants).values({ name: 'acme' }).returning();
  const [c] = await fileDb.db
    .insert(connections)
    .values({ tenantId: tenant!.id, connectionId: `c-${randomUUID().slice(0, 8)}`, webhookSecret: 'whsec_test', status })
    .returning();
  return c!;
}

describe('the HTTP driver through the local Neon proxy', () => {
  it('reads rows with their types: timestamps as Dates, jsonb as objects, bigint ids as numbers, nulls', async () => {
    const c = await newConnection();
    const [inserted] = await db
      .insert(messages)
      .values({ connectionPk: c.id, chatId: 'x@s.whatsapp.net', direction: 'inbound', type: 'image', content: { caption: 'hi', n: [1, 2] }, status: 'received' })
      .returning();
    expect(typeof inserted!.id).toBe('number');
    const [row] = await db.select().from(messages).where(eq(messages.id, inserted!.id));
    expect(row!.sentAt).toBeInstanceOf(Date);
    expect(row!.content).toEqual({ caption: 'hi', n: [1, 2] });
    expect(row!.text).toBeNull();
    expect(row!.connectionPk).toBe(c.id);
  });

  it('reports Postgres errors with their SQLSTATE and constraint', async () => {
    const c = await newConnection();
    const values = { tenantId: c.tenantId, connectionId: c.connectionId, webhookSecret: 'whsec_x' };
    const failure = await db.insert(connections).values(values).then(
      () => undefined,
      (e: unknown) => e as { cause?: { code?: string; constraint?: string } },
    );
    expect(failure?.cause).toMatchObject({ code: '23505', constraint: 'connections_tenant_connection_key' });
  });

  it('runs a batch as one transaction: a failing statement undoes the ones before it', async () => {
    const c = await newConnection();
    const before = await db.$count(messages, eq(messages.connectionPk, c.id));
    await expect(
      db.batch([
        db.insert(messages).values({ connectionPk: c.id, chatId: 'x', direction: 'inbound', status: 'received' }),
        db.execute(sql`select 1 / 0`),
      ]),
    ).rejects.toThrow();
    expect(await db.$count(messages, eq(messages.connectionPk, c.id))).toBe(before);
  });
});

describe('openOutbound (the send path in one statement)', () => {
  const draft = async (c: { tenantId: string; connectionId: string }, clientMessageId?: string): Promise<OutboundDraft> => ({
    scope: { tenantId: c.tenantId },
    connectionId: c.connectionId,
    chatId: '15550002222@s.whatsapp.net',
    toJid: '15550002222@s.whatsapp.net',
    type: 'text',
    text: 'hello',
    clientMessageId,
    providerMessageId: await providerIdFor('test-secret', c.connectionId, clientMessageId),
  });

  it('records one pending row for a connected connection, and finds the same row on a retry', async () => {
    const c = await newConnection();
    const d = await draft(c, 'order-1');
    const first = await openOutbound(db, d);
    expect(first).toMatchObject({ keyValid: true, connection: { pk: c.id, status: 'connected' }, message: { status: 'pending', providerMessageId: d.providerMessageId } });
    const again = await openOutbound(db, await draft(c, 'order-1'));
    expect(again!.message!.id).toBe(first!.message!.id);
    const rows = await fileDb.db.select().from(messages).where(eq(messages.connectionPk, c.id));
    expect(rows).toMatchObject([{ direction: 'outbound', status: 'pending', text: 'hello', clientMessageId: 'order-1', toJid: d.toJid }]);
  });

  it('answers an earlier row in whatever state it reached, and records nothing new', async () => {
    const c = await newConnection();
    const first = await openOutbound(db, await draft(c, 'order-2'));
    await fileDb.db.update(messages).set({ status: 'delivered' }).where(eq(messages.id, first!.message!.id));
    await fileDb.db.update(connections).set({ status: 'disconnected' }).where(eq(connections.id, c.id));
    const again = await openOutbound(db, await draft(c, 'order-2'));
    expect(again).toMatchObject({ connection: { status: 'disconnected' }, message: { id: first!.message!.id, status: 'delivered' } });
    expect(await fileDb.db.$count(messages, eq(messages.connectionPk, c.id))).toBe(1);
  });

  it('records nothing while the connection is not connected', async () => {
    const c = await newConnection('disconnected');
    expect(await openOutbound(db, await draft(c, 'order-3'))).toEqual({ keyValid: true, connection: { pk: c.id, status: 'disconnected', statusReason: null }, message: undefined });
    expect(await fileDb.db.$count(messages, eq(messages.connectionPk, c.id))).toBe(0);
  });

  it('never takes a message that arrived under the same WhatsApp id for its own earlier send', async () => {
    const c = await newConnection();
    const d = await draft(c, 'order-4');
    await fileDb.db.insert(messages).values({ connectionPk: c.id, chatId: d.chatId, direction: 'inbound', providerMessageId: d.providerMessageId, status: 'received' });
    const opened = await openOutbound(db, d);
    expect(opened.message).toBeUndefined();
    expect(await fileDb.db.$count(messages, eq(messages.connectionPk, c.id))).toBe(1);
  });

  it('keeps the request hash, and answers it with the earlier row', async () => {
    const c = await newConnection();
    const d = { ...(await draft(c, 'order-5')), requestHash: 'h1' };
    expect((await openOutbound(db, d)).message).toMatchObject({ requestHash: 'h1' });
    const again = await openOutbound(db, { ...d, requestHash: 'h2' });
    expect(again.message).toMatchObject({ requestHash: 'h1', earlierAgeMs: expect.any(Number) });
  });

  it("cannot reach another tenant's connection", async () => {
    const mine = await newConnection();
    const theirs = await newConnection();
    expect(await openOutbound(db, { ...(await draft(theirs)), scope: { tenantId: mine.tenantId } })).toEqual({ keyValid: true });
    expect(await fileDb.db.$count(messages, eq(messages.connectionPk, theirs.id))).toBe(0);
  });

  it('checks an API key in the same statement: a valid key reaches its own tenant and is marked used; an unknown or revoked one records nothing', async () => {
    const c = await newConnection();
    const hash = randomUUID().replace(/-/g, '');
    const [key] = await fileDb.db.insert(apiKeys).values({ tenantId: c.tenantId, name: 'k', prefix: 'sk_live_x', keyHash: hash }).returning();
    const byKey = async (apiKeyHash: string, clientId: string) => openOutbound(db, { ...(await draft(c, clientId)), scope: { apiKeyHash } });
    expect(await byKey(hash, 'k-1')).toMatchObject({ keyValid: true, connection: { pk: c.id }, message: { status: 'pending' } });
    expect((await fileDb.db.select().from(apiKeys).where(eq(apiKeys.id, key!.id)))[0]!.lastUsedAt).not.toBeNull();
    expect(await byKey('no-such-hash', 'k-2')).toEqual({ keyValid: false });
    await fileDb.db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, key!.id));
    expect(await byKey(hash, 'k-3')).toEqual({ keyValid: false });
    expect(await fileDb.db.$count(messages, eq(messages.connectionPk, c.id))).toBe(1);
  });

  it('gives every send without a client_message_id its own id', async () => {
    const c = await newConnection();
    const a = await openOutbound(db, await draft(c));
    const b = await openOutbound(db, await draft(c));
    expect(a!.message!.providerMessageId).not.toBe(b!.message!.providerMessageId);
    expect(await fileDb.db.$count(messages, eq(messages.connectionPk, c.id))).toBe(2);
  });
});

describe('send ids and request hashes', () => {
  it('message ids are an HMAC under the server secret: stable, secret-dependent, not the plain hash anyone could compute', async () => {
    const id = await providerIdFor('secret-a', 'conn', 'order-1');
    expect(id).toMatch(/^3EB0[0-9A-F]{20}$/);
    expect(await providerIdFor('secret-a', 'conn', 'order-1')).toBe(id);
    expect(await providerIdFor('secret-b', 'conn', 'order-1')).not.toBe(id);
    expect(await providerIdFor('secret-a', 'conn', 'order-2')).not.toBe(id);
    expect(id).not.toBe(`3EB0${(await sha256Hex('conn:order-1')).slice(0, 20).toUpperCase()}`);
    await expect(providerIdFor(undefined, 'conn', 'order-1')).rejects.toMatchObject({ status: 500, code: 'server_misconfigured' });
    expect(await providerIdFor(undefined, 'conn', undefined)).toMatch(/^3EB0/);
  });

  it('a request hash names the recipient and the content, a file by its bytes', async () => {
    const text = await requestHashOf({ to: 'a@s.whatsapp.net', message: 'hi' });
    expect(await requestHashOf({ to: 'a@s.whatsapp.net', message: 'hi' })).toBe(text);
    expect(await requestHashOf({ to: 'b@s.whatsapp.net', message: 'hi' })).not.toBe(text);
    expect(await requestHashOf({ to: 'a@s.whatsapp.net', message: 'hi!' })).not.toBe(text);
    const file = { type: 'image', base64: 'AAAA', mimetype: 'image/png' };
    const one = await requestHashOf({ to: 'a@s.whatsapp.net', media: file, mediaSha256: 'x1' });
    expect(await requestHashOf({ to: 'a@s.whatsapp.net', media: { mimetype: 'image/png', type: 'image', base64: 'AA==' }, mediaSha256: 'x1' })).toBe(one);
    expect(await requestHashOf({ to: 'a@s.whatsapp.net', media: file, mediaSha256: 'x2' })).not.toBe(one);
  });
});
