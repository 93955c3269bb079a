// Abuse limits through the real stack: requests per credential (a Worker of this file's own, on the shared
// database, with a limit of 5 a minute), the tenant quotas (the shared stack, with small overrides for
// this file's tenants in tenant_limits), and per-connection send pacing (a runner of this file's own with
// a slow SEND_PACE), observed where it matters: when the emulated contact receives each message.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import WebSocket from 'ws';
import { tenantLimits } from '../../drizzle/schema';
import { startNeonProxy, type NeonProxy } from '../../scripts/lib/neon-proxy';
import { freePort } from '../../scripts/lib/ports';
import { startWorker, type WorkerProcess } from '../../scripts/lib/worker-process';
import { closeDatabase, database, expectError, newTenant, uniqueId } from '../harness/api';
import { eventually, launchRunner, linkedConnection, phone, phoneNumber, stopRunners } from '../harness/whatsapp';

afterAll(async () => {
  await stopRunners();
  await closeDatabase();
});

type Tenant = Awaited<ReturnType<typeof newTenant>>;
const limitTenant = (t: Tenant, limits: Partial<typeof tenantLimits.$inferInsert>) =>
  database().insert(tenantLimits).values({ tenantId: t.tenantId, ...limits });

describe('requests per credential (API_LIMIT_PER_KEY=5/60 on a Worker of its own)', () => {
  let worker: WorkerProcess;
  let proxy: NeonProxy;
  let dir: string;
  const get = (key: string, p = '/api/connections') => fetch(`${worker.url}${p}`, { headers: { authorization: `Bearer ${key}` } });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'switchboard-limits-'));
    proxy = await startNeonProxy();
    worker = await startWorker({
      port: await freePort(),
      persistTo: dir,
      prebuilt: true,
      vars: {
        DATABASE_URL: inject('databaseUrl'),
        NEON_WS_PROXY: proxy.address,
        RUNNER_TOKEN: randomBytes(24).toString('base64url'),
        MESSAGE_ID_SECRET: randomBytes(32).toString('base64url'),
        API_LIMIT_PER_KEY: '5/60',
      },
      log: process.env.E2E_VERBOSE ? undefined : () => {},
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await proxy?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 5 requests of one key with RateLimit-* headers, then 429 rate_limited with Retry-After; other keys are unaffected', async () => {
    const t = await newTenant('per-key');
    // Made on the shared stack, whose buckets are not this Worker's.
    const made = await t.api.post('/api/keys', { name: 'second' });
    expect(made.status).toBe(201);
    const second: string = made.body.key;
    for (let i = 0; i < 5; i++) {
      const res = await get(t.apiKey);
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-limit')).toBe('5');
      expect(res.headers.get('ratelimit-remaining')).toBe(String(4 - i));
      expect(Number(res.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
    }
    const refused = await get(t.apiKey);
    const body = (await refused.json()) as any;
    expectError({ status: refused.status, headers: refused.headers, body }, 429, 'rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(12); // one request comes back every 60/5 s
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');

    // Another key of the same tenant, and another tenant's key, count alone.
    expect((await get(second)).status).toBe(200);
    expect((await get((await newTenant('per-key-c')).apiKey)).status).toBe(200);
  });

  it('counts sends too, though the send statement checks the key itself, and a refused key is still told it is unknown', async () => {
    const t = await newTenant('per-key-send');
    const id = uniqueId();
    const send = (key: string) =>
      fetch(`${worker.url}/api/send-message`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ connection_id: id, to: '923001234567', message: 'hi' }),
      });
    for (let i = 0; i < 5; i++) {
      const res = await send(t.apiKey);
      expect(res.status).toBe(404); // no such connection: an answer, and counted
      expect(res.headers.get('ratelimit-remaining')).toBe(String(4 - i));
    }
    const refused = await send(t.apiKey);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as any).error.code).toBe('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await send('sk_live_not-a-key')).status).toBe(401);
  });

  it('counts a realtime connect against its key', async () => {
    const t = await newTenant('per-key-ws');
    for (let i = 0; i < 5; i++) expect((await get(t.apiKey)).status).toBe(200);
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${worker.url.replace(/^http/, 'ws')}/api/realtime`, { headers: { authorization: `Bearer ${t.apiKey}` } });
      ws.on('open', () => (ws.close(), resolve(101)));
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', reject);
    });
    expect(status).toBe(429);
  });
});

describe('tenant quotas (overrides in tenant_limits)', () => {
  it('refuses a connection past the quota with 403 connection_quota_exceeded', async () => {
    const t = await newTenant('quota-conn');
    await limitTenant(t, { maxConnections: 2 });
    for (let i = 0; i < 2; i++) expect((await t.api.post('/api/connections', { connection_id: uniqueId() })).status).toBe(201);
    const refused = await t.api.post('/api/connections', { connection_id: uniqueId() });
    expectError(refused, 403, 'connection_quota_exceeded');
    expect(refused.body.error.details).toEqual({ limit: 2 });
    // The counted answers carry the request limit (far off on the shared stack).
    expect(refused.headers.get('ratelimit-limit')).toBeTruthy();
    // Another tenant is not affected.
    expect((await (await newTenant('quota-conn-other')).api.post('/api/connections', { connection_id: uniqueId() })).status).toBe(201);
  });

  it('refuses to start an unlinked session past the quota with 429 unlinked_session_quota_exceeded; asking the running one again is fine', async () => {
    const t = await newTenant('quota-unlinked');
    await limitTenant(t, { maxUnlinkedSessions: 1 });
    const [a, b] = [uniqueId(), uniqueId()];
    for (const id of [a, b]) expect((await t.api.post('/api/connections', { connection_id: id })).status).toBe(201);
    expect((await t.api.get(`/api/get-qr/${a}?wait=0`)).status).toBe(200);
    expectError(await t.api.get(`/api/get-qr/${b}?wait=0`), 429, 'unlinked_session_quota_exceeded');
    expectError(await t.api.post(`/api/connections/${b}/pairing-code`, { phone_number: '15550001234' }), 429, 'unlinked_session_quota_exceeded');
    expect((await t.api.get(`/api/get-qr/${a}?wait=0`)).status).toBe(200);
    // Deleting the waiting one makes room.
    expect((await t.api.delete(`/api/connections/${a}`)).status).toBe(200);
    expect((await t.api.get(`/api/get-qr/${b}?wait=0`)).status).toBe(200);
  });
});

describe('sends: per-tenant minute and per-connection pacing (SEND_PACE=2/1, burst 1, jitter 100 ms)', () => {
  const contact = phoneNumber();
  const inbox = (): Promise<{ id: string; text: string }[]> => phone('GET', `/contacts/${contact}/inbox`);

  beforeAll(async () => {
    await launchRunner(undefined, { SEND_PACE: '2/1', SEND_BURST: '1', SEND_JITTER_MS: '100', SEND_MAX_WAIT_MS: '10000' });
    await phone('POST', '/contacts', { phone: contact, name: 'Paced' });
  });

  it('refuses a tenant\'s sends past its minute with 429 send_quota_exceeded and Retry-After; nothing of it is sent', async () => {
    const t = await newTenant('quota-sends');
    await limitTenant(t, { sendsPerMinute: 2 });
    const link = await linkedConnection(t);
    for (let i = 0; i < 2; i++) expect((await t.api.post('/api/send-message', { connection_id: link.id, to: contact, message: `quota ${i}` })).status).toBe(200);
    const refused = await t.api.post('/api/send-message', { connection_id: link.id, to: contact, message: 'quota over', client_message_id: uniqueId('q') });
    expectError(refused, 429, 'send_quota_exceeded');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(30);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await inbox()).some((m) => m.text === 'quota over')).toBe(false);
  });

  it('queues a burst over the rate: every message arrives once, spaced at least an interval apart; a retry while it waits sends nothing more', async () => {
    const t = await newTenant('paced');
    const link = await linkedConnection(t);
    const seenAt = new Map<string, number>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        for (const m of await inbox()) if (m.text?.startsWith('paced ') && !seenAt.has(m.text)) seenAt.set(m.text, Date.now());
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const bodies = [0, 1, 2, 3, 4].map((i) => ({ connection_id: link.id, to: contact, message: `paced ${i}`, client_message_id: uniqueId('p') }));
    const sends = bodies.map((b) => t.api.post('/api/send-message', b));
    await new Promise((r) => setTimeout(r, 100));
    const retry = t.api.post('/api/send-message', bodies[4]); // the last one waits longest: retried meanwhile
    const answers = await Promise.all([...sends, retry]);
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(answers[5]!.body).toEqual(answers[4]!.body);
    await eventually(async () => seenAt.size === 5, 'the contact to receive all five');
    watching = false;
    await watch;
    const times = [...seenAt.values()].sort((a, b) => a - b);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // One per 500 ms after the first (the burst), each up to 100 ms later; polled every 20 ms.
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(400);
    expect(times[4]! - times[0]!).toBeGreaterThanOrEqual(1900);
    expect((await inbox()).filter((m) => m.text === 'paced 4')).toHaveLength(1);
  });

  it('refuses at once, with 429 send_queue_full and Retry-After, what would wait past the bound (here the test stack\'s 4 s send timeout)', async () => {
    const t = await newTenant('paced-bound');
    const link = await linkedConnection(t);
    const answers = await Promise.all(
      [0, 1, 2, 3, 4, 5, 6, 7].map((i) => t.api.post('/api/send-message', { connection_id: link.id, to: contact, message: `bound ${i}`, client_message_id: uniqueId('b') })),
    );
    const sent = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status !== 200);
    // Waits 0, 0.5, 1, 1.5, 2, 2.5 s fit in the bound (3 s: the timeout less a quarter); the rest do not.
    expect(sent.length).toBeGreaterThanOrEqual(5);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const r of refused) {
      expectError(r, 429, 'send_queue_full');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    const ids = sent.map((a) => a.body.provider_message_id);
    await eventually(async () => {
      const box = await inbox();
      return ids.every((id) => box.some((m) => m.id === id));
    }, 'the contact to receive what was taken');
    await new Promise((r) => setTimeout(r, 500));
    const texts = (await inbox()).filter((m) => m.text?.startsWith('bound ')).map((m) => m.text);
    expect(texts).toHaveLength(sent.length);
  });
});
