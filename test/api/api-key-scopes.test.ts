// API key scopes (`read`, `send`, `manage`) and expiry, on the real stack: each scope lets its routes
// through and no other, sends included (the text send checks its key inside its own statement; large
// bodies take the ordinary check), realtime included; a key never creates a key beyond itself; an expired
// key is refused everywhere; keys from before scopes keep every power; and the OpenAPI document names the
// scope of every operation.
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeys } from '../../drizzle/schema';
import { baseUrl, call, client, closeDatabase, database, expectError, newTenant, uniqueId, type ApiResponse } from '../harness/api';
import { launchRunner, linkedConnection, phone, phoneNumber, stopRunners } from '../harness/whatsapp';
import { bearer, openStream, refused } from '../realtime/streams';

type Tenant = Awaited<ReturnType<typeof newTenant>>;
type Scope = 'read' | 'send' | 'manage';

const sockets: Socket[] = [];
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await stopRunners();
  await closeDatabase();
});

/** A key of `t` made with its bootstrap key (which has every scope). */
async function mint(t: Tenant, body: { scopes?: Scope[]; expires_at?: string } = {}) {
  const res = await t.api.post('/api/keys', { name: `k-${uniqueId()}`, ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { ...res.body, api: client(res.body.key) } as { id: string; key: string; scopes: Scope[]; expires_at: string | null; api: ReturnType<typeof client> };
}

function expectScopeRefused(res: ApiResponse, scope: Scope) {
  expectError(res, 403, 'insufficient_scope');
  expect(res.body.error.message).toContain(`\`${scope}\``);
}

const text = (connection_id: string, to = '923001234567') => ({ connection_id, to, message: 'hello' });
const smallFile = (connection_id: string, to = '923001234567') => ({
  connection_id,
  to,
  media: { type: 'document', base64: Buffer.from('scoped notes').toString('base64'), filename: 'notes.txt' },
});
/** Over the 64 KiB up to which the send checks its key itself: this one takes the middleware's check. */
const largeFile = (connection_id: string, to = '923001234567') => ({
  connection_id,
  to,
  media: { type: 'document', base64: randomBytes(60_000).toString('base64'), filename: 'large.bin', mimetype: 'application/octet-stream' },
});

describe('API key scopes', () => {
  let t: Tenant;
  const idle = uniqueId('idle'); // created, never linked: a send that passed auth answers 409 connection_not_connected

  beforeAll(async () => {
    t = await newTenant('scopes');
    expect((await t.api.post('/api/connections', { connection_id: idle })).status).toBe(201);
  });

  it('a key made before scopes existed (the default) keeps every power, and says so', async () => {
    const listed = (await t.api.get('/api/keys')).body as any[];
    expect(listed.find((k) => k.name === 'bootstrap')).toMatchObject({ scopes: ['read', 'send', 'manage'], expires_at: null });
    expect((await t.api.get('/api/auth/me')).body.scopes).toEqual(['read', 'send', 'manage']);
    expect((await t.api.get('/api/connections')).status).toBe(200);
    expectError(await t.api.post('/api/send-message', text(idle)), 409, 'connection_not_connected');
    expect((await t.api.patch(`/api/connections/${idle}/webhook`, { webhook_url: null })).status).toBe(200);
    // A key created without `scopes` gets the caller's own: all three here.
    expect((await mint(t)).scopes).toEqual(['read', 'send', 'manage']);
  });

  it('`read` reads every GET route and changes nothing', async () => {
    const reader = await mint(t, { scopes: ['read'] });
    expect(reader.scopes).toEqual(['read']);
    for (const path of [
      '/api/connections',
      `/api/connections/${idle}`,
      `/api/chats/${idle}`,
      `/api/messages/${idle}/923001234567`,
      `/api/webhook-logs/${idle}`,
      '/api/stats',
      '/api/sandbox',
      '/api/auth/me',
    ]) {
      const res = await reader.api.get(path);
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(200);
    }
    expect((await reader.api.get('/api/auth/me')).body.scopes).toEqual(['read']);
    expectScopeRefused(await reader.api.post('/api/connections', { connection_id: uniqueId() }), 'manage');
    expectScopeRefused(await reader.api.patch(`/api/connections/${idle}/webhook`, { webhook_url: null }), 'manage');
    expectScopeRefused(await reader.api.delete(`/api/connections/${idle}`), 'manage');
    expectScopeRefused(await reader.api.get(`/api/get-qr/${idle}?wait=0`), 'manage');
    expectScopeRefused(await reader.api.post(`/api/connections/${idle}/restart`), 'manage');
    expectScopeRefused(await reader.api.post(`/api/connections/${idle}/webhook/replay`, { since: '2026-01-01T00:00:00Z' }), 'manage');
    expectScopeRefused(await reader.api.get('/api/keys'), 'manage');
    expectScopeRefused(await reader.api.post('/api/send-message', text(idle)), 'send');
    expectScopeRefused(await reader.api.post('/api/send-message', smallFile(idle)), 'send');
    expectScopeRefused(await reader.api.post('/api/send-message', largeFile(idle)), 'send');
    // The connection is still there, unchanged.
    expect((await t.api.get(`/api/connections/${idle}`)).status).toBe(200);
  });

  it('a refused scope comes before anything the body would earn: no 400 or 404 for a key that may not send', async () => {
    const reader = await mint(t, { scopes: ['read', 'manage'] });
    expectScopeRefused(await reader.api.post('/api/send-message', { connection_id: idle, to: '923001234567' }), 'send');
    expectScopeRefused(await reader.api.post('/api/send-message', { connection_id: idle, to: 'not a number', message: 'hi' }), 'send');
    expectScopeRefused(await reader.api.post('/api/send-message', text('no-such-connection')), 'send');
    // Refused, it was not counted as used.
    expect(((await t.api.get('/api/keys')).body as any[]).find((k) => k.id === reader.id).last_used_at).toBeNull();
  });

  it('`send` sends, text and files, small bodies and large, and may do nothing else', async () => {
    const sender = await mint(t, { scopes: ['send'] });
    expectError(await sender.api.post('/api/send-message', text(idle)), 409, 'connection_not_connected');
    expectError(await sender.api.post('/api/send-message', smallFile(idle)), 409, 'connection_not_connected');
    expectError(await sender.api.post('/api/send-message', largeFile(idle)), 409, 'connection_not_connected');
    // Past its scope check, the body is judged as usual.
    expectError(await sender.api.post('/api/send-message', { connection_id: idle, to: '923001234567' }), 400, 'validation_failed');
    expectScopeRefused(await sender.api.get('/api/connections'), 'read');
    expectScopeRefused(await sender.api.get(`/api/messages/${idle}/923001234567`), 'read');
    expectScopeRefused(await sender.api.post('/api/connections', { connection_id: uniqueId() }), 'manage');
    expectScopeRefused(await sender.api.post('/api/keys', { name: 'more', scopes: ['send'] }), 'manage');
    expect(((await t.api.get('/api/keys')).body as any[]).find((k) => k.id === sender.id).last_used_at).not.toBeNull();
  });

  it('`manage` creates, changes and deletes connections and keys, and neither reads nor sends', async () => {
    const manager = await mint(t, { scopes: ['manage'] });
    const id = uniqueId('managed');
    expect((await manager.api.post('/api/connections', { connection_id: id })).status).toBe(201);
    expect((await manager.api.patch(`/api/connections/${id}/webhook`, { webhook_url: null, events: ['message.received'] })).status).toBe(200);
    expect((await manager.api.post(`/api/connections/${id}/webhook/rotate-secret`)).status).toBe(200);
    expect((await manager.api.get('/api/keys')).status).toBe(200);
    expectScopeRefused(await manager.api.get(`/api/connections/${id}`), 'read');
    expectScopeRefused(await manager.api.get(`/api/webhook-logs/${id}`), 'read');
    expectScopeRefused(await manager.api.post('/api/send-message', text(id)), 'send');
    expect((await manager.api.delete(`/api/connections/${id}`)).status).toBe(200);
    expectError(await t.api.get(`/api/connections/${id}`), 404, 'connection_not_found');
  });

  it('a dashboard session has every scope', async () => {
    const login = await call('POST', '/api/auth/login', { body: { email: t.email, password: t.password } });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect(login.body.scopes).toEqual(['read', 'send', 'manage']);
    const headers = { cookie, origin: baseUrl() };
    const made = await call('POST', '/api/keys', { headers, body: { name: 'from the dashboard', scopes: ['send', 'read'] } });
    expect(made.status).toBe(201);
    expect(made.body.scopes).toEqual(['read', 'send']);
    expectError(await call('POST', '/api/send-message', { headers, body: text(idle) }), 409, 'connection_not_connected');
  });
});

describe('a key never acts beyond itself', () => {
  let t: Tenant;
  beforeAll(async () => {
    t = await newTenant('mint');
  });

  it('creates keys within its own scopes only, by default with exactly its own', async () => {
    const manager = await mint(t, { scopes: ['read', 'manage'] });
    const create = (scopes?: Scope[]) => manager.api.post('/api/keys', { name: 'child', ...(scopes ? { scopes } : {}) });
    expectScopeRefused(await create(['send']), 'send');
    expectScopeRefused(await create(['read', 'send', 'manage']), 'send');
    expect((await create()).body.scopes).toEqual(['read', 'manage']);
    const narrower = await create(['read']);
    expect(narrower.status).toBe(201);
    expect(narrower.body.scopes).toEqual(['read']);
    // Nor through a child: a manage-only key makes manage-only keys at most.
    const child = client((await create(['manage'])).body.key);
    expectScopeRefused(await child.post('/api/keys', { name: 'grandchild', scopes: ['read'] }), 'read');
    // Without manage, no key at all.
    expectScopeRefused(await client(narrower.body.key).post('/api/keys', { name: 'x', scopes: ['read'] }), 'manage');
  });

  it('revokes itself and keys within its scopes, never a key with a scope it lacks', async () => {
    const manager = await mint(t, { scopes: ['manage'] });
    const bootstrap = ((await t.api.get('/api/keys')).body as any[]).find((k) => k.name === 'bootstrap');
    expectScopeRefused(await manager.api.delete(`/api/keys/${bootstrap.id}`), 'read');
    expect((await t.api.get('/api/connections')).status).toBe(200);
    const peer = await mint(t, { scopes: ['manage'] });
    expect((await manager.api.delete(`/api/keys/${peer.id}`)).body.revoked_at).not.toBeNull();
    expect((await manager.api.delete(`/api/keys/${manager.id}`)).body.revoked_at).not.toBeNull();
    expectError(await manager.api.get('/api/keys'), 401, 'invalid_api_key');
  });

  it('stores scopes in one order, and refuses unknown, repeated or no scopes', async () => {
    expect((await t.api.post('/api/keys', { name: 'ordered', scopes: ['send', 'read'] })).body.scopes).toEqual(['read', 'send']);
    for (const scopes of [[], ['admin'], ['read', 'read'], 'read']) {
      expectError(await t.api.post('/api/keys', { name: 'bad', scopes }), 400, 'validation_failed');
    }
  });
});

describe('API key expiry', () => {
  let t: Tenant;
  const idle = uniqueId('idle');
  beforeAll(async () => {
    t = await newTenant('expiry');
    expect((await t.api.post('/api/connections', { connection_id: idle })).status).toBe(201);
  });

  const inHours = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();
  /** Moves the key's expiry to just now; answers it as ISO. */
  async function expireNow(id: string) {
    const at = new Date(Date.now() - 1000);
    await database().update(apiKeys).set({ expiresAt: at }).where(eq(apiKeys.id, id));
    return at.toISOString();
  }

  it('takes a future expires_at, shows it, and refuses one in the past or not a date', async () => {
    const at = inHours(24);
    const k = await mint(t, { expires_at: at });
    expect(k.expires_at).toBe(at);
    expect(((await t.api.get('/api/keys')).body as any[]).find((x) => x.id === k.id).expires_at).toBe(at);
    expect((await k.api.get('/api/connections')).status).toBe(200);
    expectError(await t.api.post('/api/keys', { name: 'past', expires_at: '2020-01-01T00:00:00Z' }), 400, 'validation_failed');
    expectError(await t.api.post('/api/keys', { name: 'nonsense', expires_at: 'tomorrow' }), 400, 'validation_failed');
  });

  it('refuses an expired key on every path with api_key_expired, sends included, before the body is judged', async () => {
    const k = await mint(t, { expires_at: inHours(1) });
    expectError(await k.api.post('/api/send-message', text(idle)), 409, 'connection_not_connected');
    const at = await expireNow(k.id);
    const listed = await k.api.get('/api/connections');
    expectError(listed, 401, 'api_key_expired');
    expect(listed.body.error.message).toContain(at);
    expectError(await k.api.post('/api/keys', { name: 'renewal' }), 401, 'api_key_expired');
    // The text send's own statement says the same, to the millisecond.
    const sent = await k.api.post('/api/send-message', text(idle));
    expectError(sent, 401, 'api_key_expired');
    expect(sent.body.error.message).toBe(listed.body.error.message);
    expectError(await k.api.post('/api/send-message', smallFile(idle)), 401, 'api_key_expired');
    expectError(await k.api.post('/api/send-message', largeFile(idle)), 401, 'api_key_expired');
    expectError(await k.api.post('/api/send-message', { connection_id: idle, to: '923001234567' }), 401, 'api_key_expired');
    expect((await refused('/api/realtime', bearer(k.key))).body.error.code).toBe('api_key_expired');
    expect((await call('GET', '/api/auth/session', { key: k.key })).body).toEqual({ session: null });
    // The list still shows it, with when it expired.
    expect(((await t.api.get('/api/keys')).body as any[]).find((x) => x.id === k.id).expires_at).not.toBeNull();
  });

  it('a key that expires creates only keys that expire no later, by default when it does', async () => {
    const at = inHours(2);
    const parent = await mint(t, { expires_at: at });
    expect((await parent.api.post('/api/keys', { name: 'child' })).body.expires_at).toBe(at);
    expect((await parent.api.post('/api/keys', { name: 'sooner', expires_at: inHours(1) })).status).toBe(201);
    expectError(await parent.api.post('/api/keys', { name: 'later', expires_at: inHours(3) }), 403, 'insufficient_scope');
    // A key that never expires is made only by one that never does.
    const forever = await mint(t);
    expect(forever.expires_at).toBeNull();
  });
});

describe('scopes on the realtime channel', () => {
  let t: Tenant;
  beforeAll(async () => {
    t = await newTenant('rt-scopes');
  });

  function sioConnect(token: string): Promise<{ ok: true } | { ok: false; message: string }> {
    const socket = io(baseUrl(), { reconnection: false, forceNew: true, auth: { token } });
    sockets.push(socket);
    return new Promise((resolve) => {
      socket.once('connect', () => resolve({ ok: true }));
      socket.once('connect_error', (e) => resolve({ ok: false, message: e.message }));
    });
  }

  it('the stream, its tickets and Socket.IO need `read`', async () => {
    const reader = await mint(t, { scopes: ['read'] });
    const sender = await mint(t, { scopes: ['send', 'manage'] });

    const stream = await openStream('/api/realtime', bearer(reader.key));
    await stream.close();
    const refusal = await refused('/api/realtime', bearer(sender.key));
    expect(refusal.status).toBe(403);
    expect(refusal.body.error).toMatchObject({ code: 'insufficient_scope', message: expect.stringContaining('`read`') });

    const ticket = await reader.api.post('/api/realtime/ticket');
    expect(ticket.status).toBe(201);
    const viaTicket = await openStream(`/api/realtime?ticket=${encodeURIComponent(ticket.body.ticket)}`);
    await viaTicket.close();
    expectScopeRefused(await sender.api.post('/api/realtime/ticket'), 'read');

    expect(await sioConnect(reader.key)).toEqual({ ok: true });
    const sio = await sioConnect(sender.key);
    expect(sio.ok).toBe(false);
    expect(!sio.ok && sio.message).toContain('`read`');
  });
});

describe('sends on a linked connection', () => {
  let t: Tenant;
  let link: { id: string; number: string };
  const contact = phoneNumber();

  beforeAll(async () => {
    await launchRunner();
    t = await newTenant('scoped-send');
    await phone('POST', '/contacts', { phone: contact, name: 'Scoped contact' });
    link = await linkedConnection(t);
  });

  it('a send-only key sends a text and files (small and large bodies); a read key sends nothing', async () => {
    const sender = await mint(t, { scopes: ['send'] });
    const reader = await mint(t, { scopes: ['read'] });
    for (const body of [text(link.id, contact), smallFile(link.id, contact), largeFile(link.id, contact)]) {
      const sent = await sender.api.post('/api/send-message', body);
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
      expect(sent.body.status).toBe('sent');
      expectScopeRefused(await reader.api.post('/api/send-message', body), 'send');
    }
    const inbox = await phone<any[]>('GET', `/contacts/${contact}/inbox`);
    expect(inbox.length).toBe(3);
  });
});

describe('the OpenAPI document', () => {
  it('names the scope of every authenticated /api operation, and it is the one enforced', async () => {
    const doc = (await call('GET', '/api/openapi.json')).body;
    const seen: Record<string, string> = {};
    for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
      if (!path.startsWith('/api/')) continue;
      for (const [method, op] of Object.entries<any>(item)) {
        if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
        const name = `${method.toUpperCase()} ${path}`;
        if (Array.isArray(op.security) && op.security.length === 0) continue; // public: login, the session probe
        expect(['read', 'send', 'manage', 'any'], `${name} declares no scope`).toContain(op['x-required-scope']);
        seen[name] = op['x-required-scope'];
        if (op['x-required-scope'] !== 'any') {
          expect(op.security).toContainEqual({ bearerAuth: [op['x-required-scope']] });
          expect(op.responses['403'], `${name} documents its 403`).toBeDefined();
        }
      }
    }
    expect(seen).toMatchObject({
      'POST /api/send-message': 'send',
      'POST /api/chats/{connection_id}/{chat_id}/read': 'send',
      'POST /api/connections/{connection_id}/check-numbers': 'send',
      'GET /api/connections': 'read',
      'GET /api/realtime': 'read',
      'POST /api/realtime/ticket': 'read',
      'GET /api/get-qr/{connection_id}': 'manage',
      'POST /api/keys': 'manage',
      'DELETE /api/connections/{connection_id}': 'manage',
      'POST /api/webhook-logs/{id}/replay': 'manage',
      'GET /api/auth/me': 'any',
    });
    // Every GET is `read`, but those that act or reveal credentials (a group's invite link lets anyone join), and asking who you are.
    const gets = Object.entries(seen).filter(([name, scope]) => name.startsWith('GET ') && scope !== 'read');
    expect(Object.fromEntries(gets)).toEqual({
      'GET /api/get-qr/{connection_id}': 'manage',
      'GET /api/keys': 'manage',
      'GET /api/groups/{connection_id}/{group_id}/invite-link': 'manage',
      'GET /api/auth/me': 'any',
    });
    expect(doc.components.schemas.ApiKeyScope.enum).toEqual(['read', 'send', 'manage']);
  });
});
