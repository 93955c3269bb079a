// Credentials: API keys (Bearer and x-api-key), key management, dashboard sessions and CSRF.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseUrl, call, client, closeDatabase, expectError, newTenant } from '../harness/api';

afterAll(closeDatabase);

/** Every authenticated route, with a body that would be valid, to prove auth runs before anything else. */
const ROUTES: [string, string, unknown?][] = [
  ['GET', '/api/connections'],
  ['POST', '/api/connections', { connection_id: 'x1' }],
  ['GET', '/api/connections/x1'],
  ['PATCH', '/api/connections/x1/webhook', { webhook_url: null }],
  ['DELETE', '/api/connections/x1'],
  ['GET', '/api/get-qr/x1'],
  ['POST', '/api/connections/x1/pairing-code', { phone_number: '923001234567' }],
  ['POST', '/api/connections/x1/logout'],
  ['POST', '/api/connections/x1/restart'],
  ['POST', '/api/send-message', { connection_id: 'x1', to: '923001234567', message: 'hi' }],
  ['GET', '/api/chats/x1'],
  ['GET', '/api/messages/x1/923001234567@s.whatsapp.net'],
  ['GET', '/api/webhook-logs/x1'],
  ['GET', '/api/keys'],
  ['POST', '/api/keys', { name: 'k' }],
  ['DELETE', '/api/keys/00000000-0000-4000-8000-000000000000'],
  ['GET', '/api/auth/me'],
  ['POST', '/api/auth/logout'],
  ['GET', '/api/stats'],
  ['GET', '/api/sandbox'],
  ['POST', '/api/sandbox/phones', {}],
  ['POST', '/api/sandbox/phones/15550001111/scan', { qr: 'x' }],
  ['POST', '/api/sandbox/phones/15550001111/pairing-code', { code: 'ABCD1234' }],
  ['POST', '/api/sandbox/contacts', {}],
  ['POST', '/api/sandbox/contacts/15550002222/messages', { to: '15550001111', text: 'hi' }],
  ['GET', '/api/sandbox/contacts/15550002222/inbox'],
  ['POST', '/api/sandbox/contacts/15550002222/receipts', { ids: ['x'], type: 'read' }],
];

describe('API keys', () => {
  it.each(ROUTES)('%s %s without credentials is 401', async (method, path, body) => {
    const res = await call(method, path, { body });
    expectError(res, 401, 'unauthorized');
  });

  it.each(ROUTES)('%s %s with an unknown key is 401', async (method, path, body) => {
    const res = await call(method, path, { body, key: 'sk_live_not-a-real-key' });
    expectError(res, 401, 'invalid_api_key');
  });

  it('a malformed Authorization header is 401', async () => {
    expectError(await call('GET', '/api/connections', { headers: { authorization: 'Basic abc' } }), 401, 'unauthorized');
  });

  it('accepts the key as Bearer token or x-api-key header', async () => {
    const t = await newTenant();
    expect((await call('GET', '/api/connections', { headers: { authorization: `Bearer ${t.apiKey}` } })).status).toBe(200);
    expect((await call('GET', '/api/connections', { headers: { 'x-api-key': t.apiKey } })).status).toBe(200);
  });

  it('issues a key once, lists it by prefix only, records use, and refuses it once revoked', async () => {
    const t = await newTenant();
    const created = await t.api.post('/api/keys', { name: 'ci' });
    expect(created.status).toBe(201);
    const { key, id, prefix } = created.body;
    expect(key).toMatch(/^sk_live_/);
    expect(key.startsWith(prefix)).toBe(true);

    const me = await client(key).get('/api/auth/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ tenant: { id: t.tenantId }, via: 'api_key', user: null });

    const listed = await t.api.get('/api/keys');
    expect(listed.status).toBe(200);
    const entry = listed.body.find((k: any) => k.id === id);
    expect(entry).toMatchObject({ name: 'ci', prefix, revoked_at: null });
    expect(entry.last_used_at).not.toBeNull();
    expect(JSON.stringify(listed.body)).not.toContain(key);

    const revoked = await t.api.delete(`/api/keys/${id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    expectError(await client(key).get('/api/connections'), 401, 'invalid_api_key');
    // The bootstrap key still works.
    expect((await t.api.get('/api/connections')).status).toBe(200);
  });

  it('send-message checks the key in its own statement: it records use, and a revoked key is refused', async () => {
    const t = await newTenant();
    await t.api.post('/api/connections', { connection_id: 'k1' });
    const created = (await t.api.post('/api/keys', { name: 'sender' })).body;
    const sender = client(created.key);
    const send = (message: string) => sender.post('/api/send-message', { connection_id: 'k1', to: '923001234567', message });
    // The connection is not linked: 409 says the key was good and the connection found.
    expectError(await send('hi'), 409, 'connection_not_connected');
    expectError(await sender.post('/api/send-message', { connection_id: 'nope', to: '923001234567', message: 'hi' }), 404, 'connection_not_found');
    const used = (await t.api.get('/api/keys')).body.find((k: any) => k.id === created.id);
    expect(used.last_used_at).not.toBeNull();
    await t.api.delete(`/api/keys/${created.id}`);
    expectError(await send('hi'), 401, 'invalid_api_key');
    // A large body takes the ordinary check, before it is read.
    expectError(await send('x'.repeat(70_000)), 401, 'invalid_api_key');
    // Auth still comes first: a bad key learns nothing about its body.
    expectError(await sender.post('/api/send-message', { connection_id: 'k1', to: '923001234567' }), 401, 'invalid_api_key');
    expectError(await sender.post('/api/send-message', { connection_id: 'k1', to: 'not a number', message: 'hi' }), 401, 'invalid_api_key');
    expectError(await t.api.post('/api/send-message', { connection_id: 'k1', to: '923001234567' }), 400, 'validation_failed');
    expectError(await t.api.post('/api/send-message', { connection_id: 'k1', to: 'not a number', message: 'hi' }), 400, 'invalid_recipient');
  });

  it('refuses an empty key name and an unknown key id', async () => {
    const t = await newTenant();
    expectError(await t.api.post('/api/keys', { name: '   ' }), 400, 'validation_failed');
    expectError(await t.api.delete('/api/keys/00000000-0000-4000-8000-000000000000'), 404, 'api_key_not_found');
    expectError(await t.api.delete('/api/keys/not-a-uuid'), 400, 'validation_failed');
  });
});

describe('dashboard sessions', () => {
  let t: Awaited<ReturnType<typeof newTenant>>;
  beforeAll(async () => {
    t = await newTenant('session');
  });

  async function login(email: string, password: string, headers: Record<string, string> = {}) {
    return call('POST', '/api/auth/login', { body: { email, password }, headers });
  }

  function cookieOf(res: { headers: Headers }): string {
    const setCookie = res.headers.get('set-cookie') ?? '';
    return setCookie.split(';')[0]!;
  }

  it('logs in with email and password and sets an HttpOnly, SameSite=Strict cookie', async () => {
    const res = await login(t.email.toUpperCase(), t.password);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tenant: { id: t.tenantId }, via: 'session', user: { email: t.email } });
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^sb_session=[^;]+/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);

    const me = await call('GET', '/api/auth/me', { headers: { cookie: cookieOf(res) } });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ via: 'session', user: { email: t.email } });
  });

  it('refuses a wrong password and an unknown email alike', async () => {
    expectError(await login(t.email, `${t.password}x`), 401, 'invalid_credentials');
    expectError(await login('nobody@example.test', t.password), 401, 'invalid_credentials');
  });

  it('a cookie-authenticated write needs our Origin (CSRF)', async () => {
    const cookie = cookieOf(await login(t.email, t.password));
    const body = { connection_id: 'csrf-check' };
    expectError(await call('POST', '/api/connections', { body, headers: { cookie } }), 403, 'csrf_rejected');
    expectError(
      await call('POST', '/api/connections', { body, headers: { cookie, origin: 'https://evil.example' } }),
      403,
      'csrf_rejected',
    );
    const ok = await call('POST', '/api/connections', { body, headers: { cookie, origin: baseUrl() } });
    expect(ok.status).toBe(201);
    // Reads need no Origin.
    expect((await call('GET', '/api/connections/csrf-check', { headers: { cookie } })).status).toBe(200);
  });

  it('a cross-site login attempt is refused', async () => {
    expectError(await login(t.email, t.password, { origin: 'https://evil.example' }), 403, 'csrf_rejected');
  });

  it('logout ends the session', async () => {
    const cookie = cookieOf(await login(t.email, t.password));
    const out = await call('POST', '/api/auth/logout', { headers: { cookie, origin: baseUrl() } });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie') ?? '').toMatch(/sb_session=;/);
    expectError(await call('GET', '/api/auth/me', { headers: { cookie } }), 401, 'unauthorized');
  });

  it('a forged session cookie is refused', async () => {
    expectError(await call('GET', '/api/connections', { headers: { cookie: 'sb_session=forged' } }), 401, 'unauthorized');
  });

  it('GET /api/auth/session answers who is logged in, and null (not a 401) for nobody', async () => {
    const cookie = cookieOf(await login(t.email, t.password));
    const me = await call('GET', '/api/auth/session', { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(me.body.session).toMatchObject({ tenant: { id: t.tenantId, name: t.name }, via: 'session', user: { email: t.email } });
    expect((await call('GET', '/api/auth/session', { key: t.apiKey })).body.session).toMatchObject({ via: 'api_key', user: null });
    for (const headers of [{}, { cookie: 'sb_session=forged' }, { authorization: 'Bearer sk_live_nope' }] as Record<string, string>[]) {
      const nobody = await call('GET', '/api/auth/session', { headers });
      expect(nobody.status).toBe(200);
      expect(nobody.body).toEqual({ session: null });
    }
    await call('POST', '/api/auth/logout', { headers: { cookie, origin: baseUrl() } });
    expect((await call('GET', '/api/auth/session', { headers: { cookie } })).body).toEqual({ session: null });
  });
});
