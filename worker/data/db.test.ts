// The Worker's Postgres access over HTTP (Neon's `neon()` under drizzle) against a real Postgres behind
// the local Neon proxy, and the send path's one-round-trip outbound statement built on it.
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiKeys, connections, messages, tenants } from '../../drizzle/schema';
import { useFileDatabase } from '../../test/harness/file-database';
import { httpDb, type Db } from './db';
import { openOutbound, providerIdFor, type OutboundDraft } from './outbound';

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
    providerMessageId: await providerIdFor(c.connectionId, clientMessageId),
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
