// GET /api/realtime end to end: real runners and Baileys against the emulator, events through the queue
// and Postgres to the tenant's Hub, read by a plain WebSocket client (`ws`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseUrl, call, closeDatabase, expectError, newTenant, uniqueId } from '../harness/api';
import { eventually, launchRunner, linkedConnection, phone, phoneNumber, stopRunners } from '../harness/whatsapp';
import { bearer, openStream, refused, sleep, type Stream } from './streams';

type Tenant = Awaited<ReturnType<typeof newTenant>>;

const streams: Stream[] = [];
async function stream(path: string, headers: Record<string, string>) {
  const s = await openStream(path, headers);
  streams.push(s);
  return s;
}

afterAll(async () => {
  await Promise.all(streams.map((s) => s.close()));
  await stopRunners();
  await closeDatabase();
});

describe('the realtime stream (native WebSocket)', () => {
  let a: Tenant;
  let b: Tenant;
  let aAll: Stream;
  let bAll: Stream;
  let link: { id: string; number: string };
  const contact = phoneNumber();

  beforeAll(async () => {
    await launchRunner();
    [a, b] = [await newTenant('rt-a'), await newTenant('rt-b')];
    await phone('POST', '/contacts', { phone: contact, name: 'Alice' });
    aAll = await stream('/api/realtime', bearer(a.apiKey));
    bAll = await stream('/api/realtime', { 'x-api-key': b.apiKey });
    link = await linkedConnection(a);
  });

  it('reports qr-update and connection-status while a connection links', async () => {
    const qr = await aAll.next((f) => f.event === 'qr-update' && f.data.connectionId === link.id, 'a qr-update');
    expect(qr.data).toMatchObject({ connectionId: link.id, qr: expect.stringMatching(/^data:image\/png;base64,/), qrRaw: expect.any(String) });
    const connected = await aAll.next(
      (f) => f.event === 'connection-status' && f.data.connectionId === link.id && f.data.status === 'connected',
      'connection-status connected',
    );
    expect(connected.data).toMatchObject({ phoneNumber: `+${link.number}` });
    expect(connected.sequence).toBeGreaterThan(qr.sequence);
  });

  it("delivers a contact's message as new-message, numbered in order", async () => {
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'hello realtime' });
    const f = await aAll.next((x) => x.event === 'new-message' && x.data.message?.message === 'hello realtime', 'the new-message');
    expect(f.data).toMatchObject({ connectionId: link.id, chatId: `${contact}@s.whatsapp.net`, message: { direction: 'inbound', type: 'text' } });
    const seqs = aAll.frames.map((x) => x.sequence);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it("never shows a tenant another tenant's events, either way", async () => {
    // B's own connection produces events on B's stream only.
    const bConn = uniqueId('rt-b');
    expect((await b.api.post('/api/connections', { connection_id: bConn })).status).toBe(201);
    await b.api.get(`/api/get-qr/${bConn}?wait=10`);
    await bAll.next((f) => f.event === 'qr-update' && f.data.connectionId === bConn, "B's own qr-update");
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'only for A' });
    await aAll.next((f) => f.data.message?.message === 'only for A', "A's message on A's stream");
    await sleep(500);
    expect(bAll.frames.filter((f) => f.data.connectionId !== bConn)).toEqual([]);
    expect(aAll.frames.filter((f) => f.data.connectionId === bConn)).toEqual([]);
    // A's connection is not B's to watch, nor replayable from B's buffer.
    const r = await refused(`/api/realtime?connection_id=${link.id}`, bearer(b.apiKey));
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('connection_not_found');
    const replay = await stream('/api/realtime?since=0', bearer(b.apiKey));
    await sleep(300);
    expect(replay.frames.length).toBeGreaterThan(0);
    expect(replay.frames.every((f) => f.data.connectionId === bConn)).toBe(true);
  });

  it('narrows the stream to one connection with ?connection_id=', async () => {
    const other = uniqueId('rt-other');
    expect((await a.api.post('/api/connections', { connection_id: other })).status).toBe(201);
    const only = await stream(`/api/realtime?connection_id=${link.id}`, bearer(a.apiKey));
    await a.api.get(`/api/get-qr/${other}?wait=10`);
    await aAll.next((f) => f.event === 'qr-update' && f.data.connectionId === other, "the other connection's qr-update");
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'filtered in' });
    await only.next((f) => f.data.message?.message === 'filtered in', 'the message on the filtered stream');
    expect(only.frames.every((f) => f.data.connectionId === link.id)).toBe(true);
    expectError(await a.api.get('/api/connections/nope-not-here'), 404, 'connection_not_found');
    expect((await refused('/api/realtime?connection_id=nope-not-here', bearer(a.apiKey))).status).toBe(404);
  });

  it('replays what a client missed when it reconnects with since', async () => {
    const s = await openStream('/api/realtime', bearer(a.apiKey));
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'before the drop' });
    const seen = await s.next((f) => f.data.message?.message === 'before the drop', 'the last message before the drop');
    await s.close();
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'missed', count: 3 });
    await aAll.next((f) => f.data.message?.message === 'missed 3', 'the missed messages to be stored');
    const back = await stream(`/api/realtime?since=${seen.sequence}`, bearer(a.apiKey));
    await back.next((f) => f.data.message?.message === 'missed 3', 'the replay');
    const texts = back.frames.filter((f) => f.event === 'new-message').map((f) => f.data.message.message);
    expect(texts).toEqual(['missed 1', 'missed 2', 'missed 3']);
    expect(back.frames[0]!.sequence).toBe(seen.sequence + 1);
    // Replay and live frames join without a gap or a repeat.
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'live after replay' });
    await back.next((f) => f.data.message?.message === 'live after replay', 'the live frame after the replay');
    const seqs = back.frames.map((f) => f.sequence);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seen.sequence + 1 + i));
  });

  it('answers a since it never issued with resync', async () => {
    const head = Math.max(...aAll.frames.map((f) => f.sequence));
    const s = await stream(`/api/realtime?since=${head + 1000}`, bearer(a.apiKey));
    const f = await s.next((x) => x.event === 'resync', 'a resync frame');
    expect(f.data).toMatchObject({ reason: 'unknown_sequence' });
    expect(f.sequence).toBeGreaterThanOrEqual(head);
  });

  it('sends resync once the buffer (1,000 events) no longer reaches back to since', async () => {
    const before = Math.max(...aAll.frames.map((f) => f.sequence));
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'flood', count: 1005 });
    await aAll.next((f) => f.data.message?.message === 'flood 1005', 'the flood to be stored', 120_000);
    const s = await stream(`/api/realtime?since=${before}`, bearer(a.apiKey));
    const f = await s.next((x) => x.event === 'resync', 'a resync frame');
    const head = Math.max(...aAll.frames.map((x) => x.sequence));
    expect(f).toEqual({ event: 'resync', data: { reason: 'buffer_exceeded', oldest_sequence: head - 999 }, sequence: head });
    await sleep(300);
    expect(s.frames).toHaveLength(1);
    // Within the buffer, a replay still works: the last 5 of the flood.
    const recent = await stream(`/api/realtime?since=${head - 5}`, bearer(a.apiKey));
    await recent.next((x) => x.data.message?.message === 'flood 1005', 'the end of the flood');
    expect(recent.frames.map((x) => x.data.message.message)).toEqual(['flood 1001', 'flood 1002', 'flood 1003', 'flood 1004', 'flood 1005']);
  }, 180_000);

  it('answers the text "ping" with "pong" (keep-alive)', async () => {
    const s = await stream('/api/realtime', bearer(a.apiKey));
    s.ws.send('ping');
    await eventually(async () => s.texts.length > 0, 'an answer to ping', 5_000);
    expect(s.texts).toEqual(['pong']);
    expect(s.frames).toEqual([]);
  });
});

describe('who may open the stream', () => {
  let t: Tenant;
  beforeAll(async () => {
    t = await newTenant('rt-auth');
  });

  it('refuses a missing or bad API key with 401', async () => {
    const none = await refused('/api/realtime');
    expect(none.status).toBe(401);
    expect(none.body.error).toMatchObject({ code: 'unauthorized', message: expect.any(String) });
    const bad = await refused('/api/realtime', bearer('sk_live_not_a_key'));
    expect(bad).toMatchObject({ status: 401, body: { error: { code: 'invalid_api_key' } } });
  });

  it('answers a plain GET with 426 and the error body', async () => {
    const res = await call('GET', '/api/realtime', { key: t.apiKey });
    expect(res.status).toBe(426);
    expectError(res, 426, 'upgrade_required');
  });

  it('is described in the OpenAPI document', async () => {
    const doc = (await call('GET', '/api/openapi.json')).body;
    expect(doc.paths['/api/realtime'].get.responses).toHaveProperty('101');
    expect(doc.paths['/api/realtime'].get.parameters.map((p: any) => p.name).sort()).toEqual(['connection_id', 'since', 'ticket']);
    expect(doc.paths['/api/realtime/ticket'].post.responses['201']).toBeDefined();
  });

  it('validates the query', async () => {
    expect((await refused('/api/realtime?since=-1', bearer(t.apiKey))).body.error.code).toBe('validation_failed');
    expect((await refused('/api/realtime?connection_id=%2Fbad', bearer(t.apiKey))).status).toBe(400);
  });

  it('takes a ticket once, and not after it expired', async () => {
    expectError(await call('POST', '/api/realtime/ticket'), 401, 'unauthorized');
    const issued = await t.api.post('/api/realtime/ticket');
    expect(issued.status).toBe(201);
    expect(issued.body.ticket).toMatch(/^rtk_/);
    const ttl = Date.parse(issued.body.expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    const s = await stream(`/api/realtime?ticket=${issued.body.ticket}`, {});
    expect(s.ws.readyState).toBe(1);
    expect(await refused(`/api/realtime?ticket=${issued.body.ticket}`)).toMatchObject({ status: 401, body: { error: { code: 'invalid_ticket' } } });

    const short = await t.api.post('/api/realtime/ticket', { ttl_seconds: 1 });
    expect(short.status).toBe(201);
    await sleep(1_300);
    expect(await refused(`/api/realtime?ticket=${short.body.ticket}`)).toMatchObject({ status: 401, body: { error: { code: 'invalid_ticket' } } });
    expectError(await t.api.post('/api/realtime/ticket', { ttl_seconds: 3600 }), 400, 'validation_failed');
    // A forged ticket naming the tenant does not open its stream.
    const forged = issued.body.ticket.replace(/\.[^.]+$/, `.${'A'.repeat(43)}`);
    expect((await refused(`/api/realtime?ticket=${forged}`)).status).toBe(401);
  });

  it('takes the dashboard cookie from its own origin only', async () => {
    const login = await call('POST', '/api/auth/login', { body: { email: t.email, password: t.password } });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    expect(cookie).toMatch(/^sb_session=/);
    const own = await stream('/api/realtime', { cookie, origin: baseUrl() });
    expect(own.ws.readyState).toBe(1);
    const foreign = await refused('/api/realtime', { cookie, origin: 'https://evil.example' });
    expect(foreign).toMatchObject({ status: 403, body: { error: { code: 'csrf_rejected' } } });
  });
});
