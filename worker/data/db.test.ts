// The Worker's Postgres access over HTTP (Neon's `neon()` under drizzle) against a real Postgres behind
// the local Neon proxy, and the send path's one-round-trip outbound statement built on it.
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiKeys, connections, messages, tenantLimits, tenants } from '../../drizzle/schema';
import { useFileDatabase } from '../../test/harness/file-database';
import { httpDb, type Db } from './db';
import { openOutbound, providerIdFor, requestHashOf, type OutboundDraft } from './outbound';
import { sha256Hex } from '../auth/credentials';
import { insertConnection, requestStart } from './connections';
import { ApiError } from '../http/errors';

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
    sendsPerMinute: 600,
  });

  it('records one pending row for a connected connection, and finds the same row on a retry', async () => {
    const c = await newConnection();
    const d = await draft(c, 'order-1');
    const first = await openOutbound(db, d);
    expect(first).toMatchObject({ connection: { pk: c.id, status: 'connected' }, message: { status: 'pending', providerMessageId: d.providerMessageId } });
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
    expect(await openOutbound(db, await draft(c, 'order-3'))).toEqual({ connection: { pk: c.id, status: 'disconnected', statusReason: null, sendsPerMinute: 600, tenantId: c.tenantId }, message: undefined });
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
    expect(await openOutbound(db, { ...(await draft(theirs)), scope: { tenantId: mine.tenantId } })).toEqual({});
    expect(await fileDb.db.$count(messages, eq(messages.connectionPk, theirs.id))).toBe(0);
  });

  it('checks an API key in the same statement: a valid key reaches its own tenant and is marked used; an unknown or revoked one records nothing', async () => {
    const c = await newConnection();
    const hash = randomUUID().replace(/-/g, '');
    const [key] = await fileDb.db.insert(apiKeys).values({ tenantId: c.tenantId, name: 'k', prefix: 'sk_live_x', keyHash: hash }).returning();
    const byKey = async (apiKeyHash: string, clientId: string) =>
      openOutbound(db, { ...(await draft(c, clientId)), scope: { apiKeyHash, requiredScope: 'send' } });
    expect(await byKey(hash, 'k-1')).toMatchObject({ connection: { pk: c.id }, message: { status: 'pending' } });
    expect((await fileDb.db.select().from(apiKeys).where(eq(apiKeys.id, key!.id)))[0]!.lastUsedAt).not.toBeNull();
    expect(await byKey('no-such-hash', 'k-2')).toEqual({ refused: { reason: 'invalid_api_key', scopes: [], expiresAt: null } });
    await fileDb.db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, key!.id));
    expect(await byKey(hash, 'k-3')).toEqual({ refused: { reason: 'invalid_api_key', scopes: [], expiresAt: null } });
    expect(await fileDb.db.$count(messages, eq(messages.connectionPk, c.id))).toBe(1);
  });

  it('refuses, in the same statement, a key without the scope the route needs or past its expiry, and neither records nor marks it used', async () => {
    const c = await newConnection();
    const insertKey = async (values: Partial<typeof apiKeys.$inferInsert>) => {
      const keyHash = randomUUID().replace(/-/g, '');
      await fileDb.db.insert(apiKeys).values({ tenantId: c.tenantId, name: 'k', prefix: 'sk_live_x', keyHash, ...values });
      return keyHash;
    };
    const byKey = async (apiKeyHash: string, clientId: string, requiredScope: 'send' | 'any' | undefined = 'send') =>
      openOutbound(db, { ...(await draft(c, clientId)), scope: { apiKeyHash, requiredScope } });
    const reader = await insertKey({ scopes: ['read', 'manage'] });
    expect(await byKey(reader, 's-1')).toEqual({ refused: { reason: 'insufficient_scope', scopes: ['read', 'manage'], expiresAt: null } });
    // A route the scope table does not name needs every scope.
    expect(await byKey(reader, 's-2', undefined)).toMatchObject({ refused: { reason: 'insufficient_scope' } });
    expect(await byKey(reader, 's-3', 'any')).toMatchObject({ connection: { pk: c.id } });
    const expiredAt = new Date(Date.now() - 1000);
    const expired = await insertKey({ expiresAt: expiredAt });
    expect(await byKey(expired, 's-4')).toMatchObject({ refused: { reason: 'api_key_expired', expiresAt: expiredAt } });
    const later = await insertKey({ expiresAt: new Date(Date.now() + 3_600_000), scopes: ['send'] });
    expect(await byKey(later, 's-5')).toMatchObject({ connection: { pk: c.id }, message: { status: 'pending' } });
    const used = await fileDb.db.select({ hash: apiKeys.keyHash, at: apiKeys.lastUsedAt }).from(apiKeys).where(eq(apiKeys.tenantId, c.tenantId));
    expect(Object.fromEntries(used.map((u) => [u.hash, u.at !== null]))).toEqual({ [reader]: true, [expired]: false, [later]: true });
    expect(await fileDb.db.$count(messages, eq(messages.connectionPk, c.id))).toBe(2);
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

describe('tenant quotas, counted inside the statements that create what they count', () => {
  const newTenant = async () => (await fileDb.db.insert(tenants).values({ name: 'quota' }).returning())[0]!.id;
  const create = (tenantId: string, connectionId: string, max: number) =>
    insertConnection(db, { tenantId, connectionId, webhookUrl: null, webhookSecret: 'whsec_q' }, max);
  const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => (e instanceof ApiError ? `${e.status} ${e.code}` : String(e)));

  it('creates connections up to the quota, then refuses with 403 connection_quota_exceeded (a taken name is still 409)', async () => {
    const t = await newTenant();
    expect(await create(t, 'a', 2)).toMatchObject({ connectionId: 'a' });
    expect(await create(t, 'a', 2)).toBeUndefined();
    expect(await create(t, 'b', 2)).toMatchObject({ connectionId: 'b' });
    expect(await refusal(create(t, 'c', 2))).toBe('403 connection_quota_exceeded');
    expect(await create(t, 'a', 2)).toBeUndefined();
    // Another tenant counts alone.
    expect(await create(await newTenant(), 'c', 2)).toMatchObject({ connectionId: 'c' });
  });

  it("takes the tenant's override from tenant_limits over the Worker's default", async () => {
    const t = await newTenant();
    await fileDb.db.insert(tenantLimits).values({ tenantId: t, maxConnections: 1, sendsPerMinute: 7 });
    expect(await create(t, 'a', 100)).toBeDefined();
    expect(await refusal(create(t, 'b', 100))).toBe('403 connection_quota_exceeded');
    const c = (await fileDb.db.select().from(connections).where(eq(connections.tenantId, t)))[0]!;
    const opened = await openOutbound(db, {
      scope: { tenantId: t }, connectionId: c.connectionId, chatId: 'x@s.whatsapp.net', toJid: 'x@s.whatsapp.net', type: 'text', text: 'hi',
      providerMessageId: 'P1', sendsPerMinute: 600,
    });
    expect(opened.connection?.sendsPerMinute).toBe(7);
  });

  it('starts unlinked sessions up to the quota; asking again for a running one, or for a linked one, is never refused', async () => {
    const t = await newTenant();
    for (const id of ['u1', 'u2', 'u3', 'linked']) await create(t, id, 100);
    await fileDb.db.update(connections).set({ linkedAt: new Date() }).where(sql`${connections.tenantId} = ${t} and ${connections.connectionId} = 'linked'`);
    expect((await requestStart(db, t, 'u1', 2)).startRequestedAt).toBeInstanceOf(Date);
    await requestStart(db, t, 'u2', 2);
    expect(await refusal(requestStart(db, t, 'u3', 2))).toBe('429 unlinked_session_quota_exceeded');
    await requestStart(db, t, 'u1', 2); // its QR, asked for again
    await requestStart(db, t, 'linked', 2);
    expect(await refusal(requestStart(db, t, 'missing', 2))).toBe('404 connection_not_found');
    // One of them is linked now: room for another.
    await fileDb.db.update(connections).set({ linkedAt: new Date(), status: 'connected' }).where(sql`${connections.tenantId} = ${t} and ${connections.connectionId} = 'u2'`);
    await requestStart(db, t, 'u3', 2);
  });
});
