// The authorization matrix: every authenticated /api operation of the OpenAPI document, tried with every
// kind of credential an attacker or a careless client brings. The operations come from the document, so a
// route added without a row here fails the test; each row says what the right credential gets and what a
// credential of another tenant gets, and every other column has one answer for all routes:
//
//   none · malformed · unknown key · revoked key · expired key     → 401
//   a key lacking the route's scope                                → 403 insufficient_scope
//   a cookie-authenticated write without our Origin                → 403 csrf_rejected
//   another tenant's key · another tenant's dashboard session      → the row's `foreign` answer
//   the right key · the right session (with Origin)                → the row's `ok` answer
//
// The refusals run first and the right credential last, each on resources made for that row, so a
// refusal that still did something (deleted, logged out, rotated) shows up as a wrong final answer.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiKeys } from '../../drizzle/schema';
import type { ApiKeyScope } from '../../protocol/auth';
import { baseUrl, call, closeDatabase, database, newTenant, uniqueId, type ApiResponse } from '../harness/api';
import { Sink } from '../harness/webhook-sink';
import { launchRunner, stopRunners } from '../harness/whatsapp';

type Tenant = Awaited<ReturnType<typeof newTenant>>;

/** What a row's request is made of: resources of tenant A, made fresh for the row. */
interface Fixture {
  connection: string;
  keyId: string;
  logId: string;
}

interface Row {
  path: (f: Fixture) => string;
  body?: (f: Fixture) => unknown;
  /** The route ends the session it is called with: this row logs in afresh instead of using the shared ones. */
  endsSession?: boolean;
  /** Status with the right credential. */
  ok: number;
  /**
   * With another tenant's credential: the status (404, as for a resource that does not exist: nothing
   * tells a stranger it is there), or `own` for routes that answer the caller's own data (then the answer
   * must not mention tenant A's resources), or `shared` for the sandbox, one emulated WhatsApp shared by
   * every tenant of a development deployment (never enabled in production).
   */
  foreign: number | 'own' | 'shared';
}

// Sandbox phones and contacts that do not exist: the owner gets the sandbox's 404, after every check of the caller.
const PHONE = '15550001111';
const CONTACT = '15550002222';
const enc = encodeURIComponent;
const GROUP = enc('120363041234567890@g.us');

const ROWS: Record<string, Row> = {
  'GET /api/connections': { path: () => '/api/connections', ok: 200, foreign: 'own' },
  'POST /api/connections': { path: () => '/api/connections', body: () => ({ connection_id: uniqueId('made') }), ok: 201, foreign: 'own' },
  'GET /api/connections/{connection_id}': { path: (f) => `/api/connections/${f.connection}`, ok: 200, foreign: 404 },
  'DELETE /api/connections/{connection_id}': { path: (f) => `/api/connections/${f.connection}`, ok: 200, foreign: 404 },
  'GET /api/get-qr/{connection_id}': { path: (f) => `/api/get-qr/${f.connection}`, ok: 200, foreign: 404 },
  'POST /api/connections/{connection_id}/pairing-code': {
    path: (f) => `/api/connections/${f.connection}/pairing-code`,
    body: () => ({ phone_number: '923001234567' }),
    ok: 200,
    foreign: 404,
  },
  'POST /api/connections/{connection_id}/logout': { path: (f) => `/api/connections/${f.connection}/logout`, ok: 200, foreign: 404 },
  'POST /api/connections/{connection_id}/restart': { path: (f) => `/api/connections/${f.connection}/restart`, ok: 200, foreign: 404 },
  'PUT /api/connections/{connection_id}/calls': {
    path: (f) => `/api/connections/${f.connection}/calls`,
    body: () => ({ reject: true, message: 'Please write.' }),
    ok: 200,
    foreign: 404,
  },
  'GET /api/connections/{connection_id}/calls': { path: (f) => `/api/connections/${f.connection}/calls`, ok: 200, foreign: 404 },
  'PATCH /api/connections/{connection_id}/webhook': {
    path: (f) => `/api/connections/${f.connection}/webhook`,
    body: () => ({ webhook_url: null }),
    ok: 200,
    foreign: 404,
  },
  'POST /api/connections/{connection_id}/webhook/rotate-secret': {
    path: (f) => `/api/connections/${f.connection}/webhook/rotate-secret`,
    ok: 200,
    foreign: 404,
  },
  'POST /api/connections/{connection_id}/webhook/test': { path: (f) => `/api/connections/${f.connection}/webhook/test`, ok: 200, foreign: 404 },
  'POST /api/connections/{connection_id}/webhook/replay': {
    path: (f) => `/api/connections/${f.connection}/webhook/replay`,
    body: () => ({ since: new Date(Date.now() - 3_600_000).toISOString() }),
    ok: 202,
    foreign: 404,
  },
  'GET /api/webhook-logs/{connection_id}': { path: (f) => `/api/webhook-logs/${f.connection}`, ok: 200, foreign: 404 },
  // A test event has no delivery behind it: the owner's replay is a 409, a stranger's a 404.
  'POST /api/webhook-logs/{id}/replay': { path: (f) => `/api/webhook-logs/${f.logId}/replay`, ok: 409, foreign: 404 },

  // The connection is not linked: the owner's send reaches the point where it needs WhatsApp.
  'POST /api/send-message': {
    path: () => '/api/send-message',
    body: (f) => ({ connection_id: f.connection, to: '923001234567', message: 'hi' }),
    ok: 409,
    foreign: 404,
  },
  'GET /api/chats/{connection_id}': { path: (f) => `/api/chats/${f.connection}`, ok: 200, foreign: 404 },
  'GET /api/messages/{connection_id}/{chat_id}': {
    path: (f) => `/api/messages/${f.connection}/${enc('923001234567@s.whatsapp.net')}`,
    ok: 200,
    foreign: 404,
  },
  // The fixture's connection has no messages: the owner gets as far as the message lookup (404 not_found).
  'PATCH /api/messages/{connection_id}/{chat_id}/{message_id}': {
    path: (f) => `/api/messages/${f.connection}/${enc('923001234567@s.whatsapp.net')}/3EB0NOSUCHMESSAGE`,
    body: () => ({ message: 'edited' }),
    ok: 404,
    foreign: 404,
  },
  'DELETE /api/messages/{connection_id}/{chat_id}/{message_id}': {
    path: (f) => `/api/messages/${f.connection}/${enc('923001234567@s.whatsapp.net')}/3EB0NOSUCHMESSAGE`,
    ok: 404,
    foreign: 404,
  },
  // No file was received on the fixture's connection: the owner gets past every check to media_not_found (the
  // bytes themselves, and another tenant's 404 for a stored file, are in test/sessions/media-in.test.ts).
  'GET /api/media/{connection_id}/{message_id}': { path: (f) => `/api/media/${f.connection}/3EB0NOSUCHFILE`, ok: 404, foreign: 404 },
  'GET /api/stats': { path: () => '/api/stats', ok: 200, foreign: 'own' },
  'GET /api/contacts/{connection_id}': { path: (f) => `/api/contacts/${f.connection}`, ok: 200, foreign: 404 },
  // Asks WhatsApp: the owner's request reaches the point where the connection must be linked.
  'GET /api/contacts/{connection_id}/{jid}/picture': { path: (f) => `/api/contacts/${f.connection}/${enc('923001234567@s.whatsapp.net')}/picture`, ok: 409, foreign: 404 },
  // Chat actions need the connection linked: the owner reaches that check (409), a stranger never sees it.
  'POST /api/chats/{connection_id}/{chat_id}/read': {
    path: (f) => `/api/chats/${f.connection}/${enc('923001234567@s.whatsapp.net')}/read`,
    ok: 409,
    foreign: 404,
  },
  'POST /api/chats/{connection_id}/{chat_id}/presence': {
    path: (f) => `/api/chats/${f.connection}/923001234567/presence`,
    body: () => ({ state: 'composing' }),
    ok: 409,
    foreign: 404,
  },
  'POST /api/connections/{connection_id}/presence': {
    path: (f) => `/api/connections/${f.connection}/presence`,
    body: () => ({ state: 'available' }),
    ok: 409,
    foreign: 404,
  },
  'POST /api/connections/{connection_id}/check-numbers': {
    path: (f) => `/api/connections/${f.connection}/check-numbers`,
    body: () => ({ numbers: ['923001234567'] }),
    ok: 409,
    foreign: 404,
  },

  // Group management needs WhatsApp: the owner's request reaches the point where the connection must be linked.
  'GET /api/groups/{connection_id}': { path: (f) => `/api/groups/${f.connection}`, ok: 409, foreign: 404 },
  'POST /api/groups/{connection_id}': {
    path: (f) => `/api/groups/${f.connection}`,
    body: () => ({ subject: 'Matrix', participants: ['923001234567'] }),
    ok: 409,
    foreign: 404,
  },
  'GET /api/groups/{connection_id}/{group_id}': { path: (f) => `/api/groups/${f.connection}/${GROUP}`, ok: 409, foreign: 404 },
  'PATCH /api/groups/{connection_id}/{group_id}': {
    path: (f) => `/api/groups/${f.connection}/${GROUP}`,
    body: () => ({ subject: 'Renamed' }),
    ok: 409,
    foreign: 404,
  },
  'POST /api/groups/{connection_id}/{group_id}/participants': {
    path: (f) => `/api/groups/${f.connection}/${GROUP}/participants`,
    body: () => ({ action: 'add', participants: ['923001234567'] }),
    ok: 409,
    foreign: 404,
  },
  'GET /api/groups/{connection_id}/{group_id}/invite-link': { path: (f) => `/api/groups/${f.connection}/${GROUP}/invite-link`, ok: 409, foreign: 404 },
  'POST /api/groups/{connection_id}/{group_id}/invite-link/revoke': {
    path: (f) => `/api/groups/${f.connection}/${GROUP}/invite-link/revoke`,
    ok: 409,
    foreign: 404,
  },
  'POST /api/groups/{connection_id}/{group_id}/leave': { path: (f) => `/api/groups/${f.connection}/${GROUP}/leave`, ok: 409, foreign: 404 },

  // Without an upgrade the stream answers 426 to whoever may open it.
  'GET /api/realtime': { path: () => '/api/realtime', ok: 426, foreign: 'own' },
  'POST /api/realtime/ticket': { path: () => '/api/realtime/ticket', body: () => ({}), ok: 201, foreign: 'own' },

  'GET /api/keys': { path: () => '/api/keys', ok: 200, foreign: 'own' },
  'POST /api/keys': { path: () => '/api/keys', body: () => ({ name: 'made' }), ok: 201, foreign: 'own' },
  'DELETE /api/keys/{id}': { path: (f) => `/api/keys/${f.keyId}`, ok: 200, foreign: 404 },

  'GET /api/auth/me': { path: () => '/api/auth/me', ok: 200, foreign: 'own' },
  'POST /api/auth/logout': { path: () => '/api/auth/logout', ok: 200, foreign: 'own', endsSession: true },

  'GET /api/sandbox': { path: () => '/api/sandbox', ok: 200, foreign: 'shared' },
  'GET /api/sandbox/contacts/{phone}/inbox': { path: () => `/api/sandbox/contacts/${CONTACT}/inbox`, ok: 404, foreign: 'shared' },
  'POST /api/sandbox/phones': { path: () => '/api/sandbox/phones', body: () => ({}), ok: 201, foreign: 'shared' },
  'POST /api/sandbox/phones/{phone}/scan': {
    path: () => `/api/sandbox/phones/${PHONE}/scan`,
    body: () => ({ qr: 'not-a-qr' }),
    ok: 404,
    foreign: 'shared',
  },
  'POST /api/sandbox/phones/{phone}/pairing-code': {
    path: () => `/api/sandbox/phones/${PHONE}/pairing-code`,
    body: () => ({ code: 'ABCD1234' }),
    ok: 404,
    foreign: 'shared',
  },
  'POST /api/sandbox/contacts': { path: () => '/api/sandbox/contacts', body: () => ({}), ok: 201, foreign: 'shared' },
  'POST /api/sandbox/contacts/{phone}/messages': {
    path: () => `/api/sandbox/contacts/${CONTACT}/messages`,
    body: () => ({ to: PHONE, text: 'hi' }),
    ok: 404,
    foreign: 'shared',
  },
  'POST /api/sandbox/contacts/{phone}/receipts': {
    path: () => `/api/sandbox/contacts/${CONTACT}/receipts`,
    body: () => ({ ids: ['x'], type: 'read' }),
    ok: 404,
    foreign: 'shared',
  },
};

const SCOPES: readonly ApiKeyScope[] = ['read', 'send', 'manage'];
const WRITE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The authenticated operations of the OpenAPI document, with the scope each declares. */
async function documentedOperations(): Promise<{ name: string; method: string; scope: string }[]> {
  const doc = (await call('GET', '/api/openapi.json')).body;
  const out: { name: string; method: string; scope: string }[] = [];
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    if (!path.startsWith('/api/')) continue;
    for (const [method, op] of Object.entries<any>(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      if (Array.isArray(op.security) && op.security.length === 0) continue; // public: login, the session probe
      out.push({ name: `${method.toUpperCase()} ${path}`, method: method.toUpperCase(), scope: op['x-required-scope'] });
    }
  }
  return out;
}

async function mint(t: Tenant, scopes: readonly ApiKeyScope[]): Promise<{ id: string; key: string }> {
  const res = await t.api.post('/api/keys', { name: `matrix-${scopes.join('-') || 'none'}`, scopes });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id: res.body.id, key: res.body.key };
}

async function sessionCookie(t: Tenant): Promise<string> {
  const res = await call('POST', '/api/auth/login', { body: { email: t.email, password: t.password } });
  expect(res.status).toBe(200);
  return (res.headers.get('set-cookie') ?? '').split(';')[0]!;
}

const sink = new Sink();
let a: Tenant;
let b: Tenant;
let operations: Awaited<ReturnType<typeof documentedOperations>>;
/** Credentials that fail the same way on every route. */
let revoked: string;
let expired: string;
let foreignSession: string;
let ownSession: string;
/** Keys of tenant A holding every scope but one. */
const lacking = new Map<ApiKeyScope, string>();

beforeAll(async () => {
  await sink.start(inject('webhookSinkPort'));
  [a, b] = await Promise.all([newTenant('matrix-a'), newTenant('matrix-b')]);
  operations = await documentedOperations();
  const gone = await mint(a, SCOPES);
  expect((await a.api.delete(`/api/keys/${gone.id}`)).status).toBe(200);
  revoked = gone.key;
  const old = await mint(a, SCOPES);
  await database().update(apiKeys).set({ expiresAt: new Date(Date.now() - 60_000) }).where(eq(apiKeys.id, old.id));
  expired = old.key;
  for (const scope of SCOPES) lacking.set(scope, (await mint(a, SCOPES.filter((s) => s !== scope))).key);
  // Logins are rate limited per email: one session each, shared by the rows (but the one that ends it).
  [ownSession, foreignSession] = await Promise.all([sessionCookie(a), sessionCookie(b)]);
  // A runner, so that routes which start a session (QR, pairing code) answer as they would in production.
  await launchRunner();
});

afterAll(async () => {
  await sink.stop();
  await closeDatabase();
  await stopRunners();
});

/** Tenant A's resources for one row: a connection (its webhook on the sink, one test event logged) and a key. */
async function fixture(): Promise<Fixture> {
  const connection = uniqueId('matrix');
  expect((await a.api.post('/api/connections', { connection_id: connection, webhook_url: sink.endpoint().url })).status).toBe(201);
  const tested = await a.api.post(`/api/connections/${connection}/webhook/test`);
  expect(tested.status, JSON.stringify(tested.body)).toBe(200);
  const key = await mint(a, ['read']);
  return { connection, keyId: key.id, logId: tested.body.id };
}

function expectAnswer(res: ApiResponse, status: number, code: string | undefined, what: string) {
  const detail = `${what}: got ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
  expect(res.status, detail).toBe(status);
  if (code) expect(res.body?.error?.code, detail).toBe(code);
  if (status >= 400) expect(typeof res.body?.error?.message, detail).toBe('string');
}

describe('the authorization matrix', () => {
  it('has a row for every authenticated operation of the OpenAPI document, and none for a route that is gone', () => {
    const documented = operations.map((o) => o.name).sort();
    expect(documented.length).toBeGreaterThan(20);
    expect(Object.keys(ROWS).sort()).toEqual(documented);
  });

  // One test per row, its name from the table; what the document declares (the scope) is read at run time.
  it.each(Object.keys(ROWS))('%s', async (name) => {
    const row = ROWS[name]!;
    const op = operations.find((o) => o.name === name);
    expect(op, `${name} is not in the OpenAPI document`).toBeDefined();
    const { method, scope } = op!;
    const f = await fixture();
    const path = row.path(f);
    const body = row.body?.(f);
    const tryWith = (headers: Record<string, string>) => call(method, path, { body, headers });
    const [mySession, theirSession] = row.endsSession ? await Promise.all([sessionCookie(a), sessionCookie(b)]) : [ownSession, foreignSession];

    expectAnswer(await tryWith({}), 401, 'unauthorized', 'no credential');
    expectAnswer(await tryWith({ authorization: 'Basic Zm9vOmJhcg==' }), 401, 'unauthorized', 'a malformed Authorization header');
    expectAnswer(await tryWith({ authorization: 'Bearer' }), 401, 'unauthorized', 'a Bearer without a token');
    expectAnswer(await tryWith({ authorization: 'Bearer sk_live_not-a-real-key' }), 401, 'invalid_api_key', 'an unknown key');
    expectAnswer(await tryWith({ cookie: 'sb_session=forged' }), 401, 'unauthorized', 'a forged session cookie');
    expectAnswer(await tryWith({ authorization: `Bearer ${revoked}` }), 401, 'invalid_api_key', 'a revoked key');
    expectAnswer(await tryWith({ authorization: `Bearer ${expired}` }), 401, 'api_key_expired', 'an expired key');
    if (scope !== 'any') {
      expect(SCOPES, `${name} declares scope ${scope}`).toContain(scope);
      expectAnswer(await tryWith({ 'x-api-key': lacking.get(scope as ApiKeyScope)! }), 403, 'insufficient_scope', `a key without \`${scope}\``);
    }
    if (WRITE.has(method)) {
      expectAnswer(await tryWith({ cookie: mySession }), 403, 'csrf_rejected', 'a session write without Origin');
      expectAnswer(await tryWith({ cookie: mySession, origin: 'https://evil.example' }), 403, 'csrf_rejected', 'a session write from another origin');
    }

    const strangers: [string, Record<string, string>][] = [
      ["another tenant's key", { authorization: `Bearer ${b.apiKey}` }],
      ["another tenant's session", { cookie: theirSession, origin: baseUrl() }],
    ];
    for (const [what, headers] of strangers) {
      if (row.foreign === 'shared') continue;
      const res = await tryWith(headers);
      if (row.foreign === 'own') {
        expect(res.status, `${what}: ${JSON.stringify(res.body).slice(0, 300)}`).toBeLessThan(500);
        const text = JSON.stringify(res.body);
        for (const mine of [f.connection, f.keyId, a.email]) expect(text, `${what} sees ${mine}`).not.toContain(mine);
      } else {
        expectAnswer(res, row.foreign, undefined, what);
      }
    }

    // Last, the owner, once with a key and (on a fresh fixture, as the first may have changed it) with the dashboard session.
    expectAnswer(await tryWith({ authorization: `Bearer ${a.apiKey}` }), row.ok, undefined, 'the right key');
    const g = await fixture();
    const bySession = await call(method, row.path(g), { body: row.body?.(g), headers: { cookie: mySession, origin: baseUrl() } });
    expectAnswer(bySession, row.ok, undefined, 'the right session');
  });
});
