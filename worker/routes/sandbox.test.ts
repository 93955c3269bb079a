// The /api/sandbox routes as a Hono app in Node: without SANDBOX_CONTROL_URL (disabled), against a real
// emulator (its refusals passed through), and against emulators that cannot be reached or answer badly.
// Linking, messaging and the inbox through the whole stack are in test/sandbox/.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../runner/emulator/emulator';
import { freePort } from '../../scripts/lib/ports';
import { ApiError, renderError } from '../http/errors';
import { SandboxControl } from '../sandbox/control';

// Imported by path, untyped: the route module's types need the Workers runtime's globals (through Env),
// which this Node project does not declare; worker/tsconfig.json checks it.
const routeModule = './sandbox';
const { sandboxRoutes } = (await import(routeModule)) as { sandboxRoutes: Hono<any> };

function appWith(env: { SANDBOX_CONTROL_URL?: string }) {
  const app = new Hono<any>();
  app.onError(renderError);
  app.use('/api/*', async (c, next) => {
    c.set('principal', { tenantId: '00000000-0000-4000-8000-000000000001', via: 'api_key' });
    await next();
  });
  app.route('/api', sandboxRoutes);
  return async (method: string, path: string, body?: unknown) => {
    const res = await app.request(
      path,
      { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) },
      env,
    );
    return { status: res.status, body: (await res.json()) as any };
  };
}

const WRITES: [string, string, unknown][] = [
  ['POST', '/api/sandbox/phones', {}],
  ['POST', '/api/sandbox/phones/15550001111/scan', { qr: 'x' }],
  ['POST', '/api/sandbox/phones/15550001111/pairing-code', { code: 'ABCD1234' }],
  ['POST', '/api/sandbox/contacts', { name: 'Alice' }],
  ['POST', '/api/sandbox/contacts/15560001111/messages', { to: '15550001111', text: 'hi' }],
  ['GET', '/api/sandbox/contacts/15560001111/inbox', undefined],
  ['POST', '/api/sandbox/contacts/15560001111/receipts', { ids: ['x'], type: 'read' }],
];

describe('sandbox routes without SANDBOX_CONTROL_URL', () => {
  const api = appWith({});

  it('GET /api/sandbox answers enabled: false', async () => {
    expect(await api('GET', '/api/sandbox')).toEqual({ status: 200, body: { enabled: false } });
    expect(await appWith({ SANDBOX_CONTROL_URL: '' })('GET', '/api/sandbox')).toEqual({ status: 200, body: { enabled: false } });
  });

  it.each(WRITES)('%s %s is 404 sandbox_disabled', async (method, path, body) => {
    const res = await api(method, path, body);
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'sandbox_disabled', message: expect.stringContaining('not enabled') });
  });

  it('says so before it looks at the input', async () => {
    expect((await api('POST', '/api/sandbox/phones', { phone: 'not digits' })).body.error.code).toBe('sandbox_disabled');
  });
});

describe('sandbox routes against the emulator', () => {
  let emu: RunningEmulator;
  let api: ReturnType<typeof appWith>;
  beforeAll(async () => {
    emu = await startEmulator({ port: 0 });
    api = appWith({ SANDBOX_CONTROL_URL: emu.controlUrl });
  });
  afterAll(() => emu?.close());

  it('creates phones and contacts and lists them', async () => {
    const phone = await api('POST', '/api/sandbox/phones', { phone: '15550007001', name: 'My phone' });
    expect(phone).toEqual({
      status: 201,
      body: { phone: '15550007001', name: 'My phone', jid: '15550007001@s.whatsapp.net', devices: { count: 0, online: 0 } },
    });
    const generated = await api('POST', '/api/sandbox/contacts', {});
    expect(generated.status).toBe(201);
    expect(generated.body).toEqual({ phone: expect.stringMatching(/^1556\d{7}$/), name: expect.any(String), jid: `${generated.body.phone}@s.whatsapp.net` });
    const listed = await api('GET', '/api/sandbox');
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ enabled: true, phones: [phone.body], contacts: [generated.body] });
  });

  it('passes the emulator’s refusals through with their status and message', async () => {
    await api('POST', '/api/sandbox/contacts', { phone: '15560007002', name: 'Bob' });
    const taken = await api('POST', '/api/sandbox/contacts', { phone: '15560007002' });
    expect(taken).toEqual({ status: 400, body: { error: { code: 'bad_request', message: 'phone 15560007002 already exists' } } });
    const unknown = await api('GET', '/api/sandbox/contacts/15569999999/inbox');
    expect(unknown).toEqual({ status: 404, body: { error: { code: 'not_found', message: 'no contact 15569999999' } } });
    const unknownPhone = await api('POST', '/api/sandbox/phones/15559999999/scan', { qr: 'x' });
    expect(unknownPhone.status).toBe(404);
    expect(unknownPhone.body.error.code).toBe('not_found');
    const staleQr = await api('POST', '/api/sandbox/phones/15550007001/scan', { qr: '2@ref,AAAA,BBBB,CCCC' });
    expect(staleQr.status).toBe(409);
    expect(staleQr.body.error).toMatchObject({ code: 'conflict', message: expect.any(String) });
  });

  it('validates input itself, before the emulator sees it', async () => {
    for (const [path, body] of [
      ['/api/sandbox/phones', { phone: '+1 555' }],
      ['/api/sandbox/phones', { nickname: 'x' }],
      ['/api/sandbox/contacts/15560007002/messages', { to: 'someone', text: 'hi' }],
      ['/api/sandbox/contacts/15560007002/messages', { to: '15550007001', text: '' }],
      ['/api/sandbox/contacts/15560007002/receipts', { ids: [], type: 'read' }],
      ['/api/sandbox/contacts/15560007002/receipts', { ids: ['x'], type: 'played' }],
      ['/api/sandbox/phones/abc/scan', { qr: 'x' }],
    ] as const) {
      const res = await api('POST', path, body);
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
  });
});

describe('an emulator that cannot be reached or answers badly', () => {
  let server: http.Server;
  let base: URL;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/control/hang') return; // never answers
      if (req.url === '/control/html') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>');
      if (req.url === '/control/big') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ids: ['x'.repeat(5000)] }));
      if (req.url === '/control/crash') return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"boom"}}');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"unexpected":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/control`);
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const failure = async (p: Promise<unknown>) => {
    const e = await p.then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  };

  it('is 502 sandbox_unreachable when nothing listens, on every route', async () => {
    const api = appWith({ SANDBOX_CONTROL_URL: `http://127.0.0.1:${await freePort()}/control` });
    for (const [method, path, body] of [['GET', '/api/sandbox', undefined] as const, ...WRITES]) {
      const res = await api(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(502);
      expect(res.body.error).toMatchObject({ code: 'sandbox_unreachable', message: expect.stringContaining('cannot be reached') });
    }
  });

  it('gives up after its timeout', async () => {
    const e = await failure(new SandboxControl(base, { timeoutMs: 300 }).call('GET', '/hang', z.unknown()));
    expect([e.status, e.code, e.message]).toEqual([502, 'sandbox_unreachable', expect.stringContaining('did not answer within 0.3 s')]);
  });

  it('refuses answers that are too large, not JSON, not the expected shape, or a server error', async () => {
    const control = new SandboxControl(base, { maxBytes: 1024 });
    const ids = z.object({ ids: z.array(z.string()) });
    for (const [path, what] of [
      ['/big', 'more than 1024 bytes'],
      ['/html', 'not JSON'],
      ['/other', 'unexpected body'],
      ['/crash', 'answered 500'],
    ]) {
      const e = await failure(control.call('GET', path!, ids));
      expect([e.status, e.code, e.message], path).toEqual([502, 'sandbox_bad_response', expect.stringContaining(what!)]);
    }
  });
});
