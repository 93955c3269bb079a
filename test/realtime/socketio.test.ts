// The Socket.IO-compatible path end to end: unchanged socket.io-client v4 code (default transports:
// long-polling, then the upgrade to WebSocket) against /socket.io/, fed by real events from the emulator.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { baseUrl, closeDatabase, newTenant, uniqueId } from '../harness/api';
import { eventually, launchRunner, linkedConnection, phone, phoneNumber, stopRunners } from '../harness/whatsapp';
import { bearer, openStream, sleep } from './streams';
import type { ErrorBody } from '../../protocol/errors';

type Tenant = Awaited<ReturnType<typeof newTenant>>;
type Received = { event: string; data: any; transport: string };

const sockets: Socket[] = [];
/** A client that records every event it receives, with the transport it came over. */
function connect(opts: Parameters<typeof io>[1]) {
  const socket = io(baseUrl(), { reconnection: false, forceNew: true, ...opts });
  const received: Received[] = [];
  socket.onAny((event, data) => received.push({ event, data, transport: socket.io.engine?.transport?.name ?? '?' }));
  sockets.push(socket);
  return { socket, received };
}

function connected(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.connected) return resolve();
    socket.once('connect', () => resolve());
    socket.once('connect_error', (e) => reject(e));
  });
}

function connectError(socket: Socket): Promise<Error> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, but should have been refused')));
    socket.once('connect_error', (e) => resolve(e));
  });
}

const textOf = (r: Received) => r.data?.message?.message;
const waitFor = (received: Received[], text: string, what: string) =>
  eventually(async () => received.find((r) => r.event === 'new-message' && textOf(r) === text), what, 30_000);

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await stopRunners();
  await closeDatabase();
});

describe('Socket.IO compatibility (/socket.io/)', () => {
  let a: Tenant;
  let b: Tenant;
  let link: { id: string; number: string };
  const contact = phoneNumber();

  beforeAll(async () => {
    await launchRunner();
    [a, b] = [await newTenant('sio-a'), await newTenant('sio-b')];
    await phone('POST', '/contacts', { phone: contact, name: 'Alice' });
    link = await linkedConnection(a);
  });

  it('an unchanged client (auth token, default transports) gets new-message after upgrading to WebSocket', async () => {
    const { socket, received } = connect({ auth: { token: a.apiKey } });
    await connected(socket);
    expect(socket.id).toEqual(expect.any(String));
    // It starts on long-polling and upgrades.
    await eventually(async () => socket.io.engine.transport.name === 'websocket', 'the upgrade to WebSocket', 10_000);
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'sio hello' });
    const got = await waitFor(received, 'sio hello', 'new-message over socket.io');
    expect(got.data).toMatchObject({ connectionId: link.id, chatId: `${contact}@s.whatsapp.net`, message: { message: 'sio hello', direction: 'inbound' } });
    expect(got.transport).toBe('websocket');
  });

  it('delivers over long-polling too (a client that never upgrades)', async () => {
    const { socket, received } = connect({ auth: { token: a.apiKey }, upgrade: false });
    await connected(socket);
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'sio polling' });
    const got = await waitFor(received, 'sio polling', 'new-message over long-polling');
    expect(got.transport).toBe('polling');
    expect(socket.io.engine.transport.name).toBe('polling');
  });

  it('takes the key in extraHeaders (Node clients), on every transport', async () => {
    const viaHeaders = connect({ extraHeaders: { Authorization: `Bearer ${a.apiKey}` } });
    const wsOnly = connect({ extraHeaders: { 'x-api-key': a.apiKey }, transports: ['websocket'] });
    await Promise.all([connected(viaHeaders.socket), connected(wsOnly.socket)]);
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'sio headers' });
    await waitFor(viaHeaders.received, 'sio headers', 'new-message with extraHeaders');
    expect((await waitFor(wsOnly.received, 'sio headers', 'new-message on a WebSocket-only client')).transport).toBe('websocket');
  });

  it('refuses a bad or missing key with CONNECT_ERROR', async () => {
    const bad = await connectError(connect({ auth: { token: 'sk_live_wrong' } }).socket);
    expect(bad.message).toMatch(/not valid|revoked/);
    const none = await connectError(connect({}).socket);
    expect(none.message).toMatch(/Authentication required/);
    const badHeader = await connectError(connect({ extraHeaders: { Authorization: 'Bearer sk_live_wrong' }, transports: ['websocket'] }).socket);
    expect(badHeader.message).toMatch(/not valid|revoked/);
  });

  it("keeps tenants apart, and narrows to one connection with auth.connection_id", async () => {
    const other = uniqueId('sio-other');
    expect((await a.api.post('/api/connections', { connection_id: other })).status).toBe(201);
    const tenantB = connect({ auth: { token: b.apiKey } });
    const onlyLink = connect({ auth: { token: a.apiKey, connection_id: link.id } });
    const all = connect({ auth: { token: a.apiKey } });
    await Promise.all([connected(tenantB.socket), connected(onlyLink.socket), connected(all.socket)]);
    await a.api.get(`/api/get-qr/${other}?wait=10`);
    await eventually(async () => all.received.some((r) => r.event === 'qr-update' && r.data.connectionId === other), "the other connection's qr-update");
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'sio filtered' });
    await waitFor(onlyLink.received, 'sio filtered', 'the message on the filtered socket');
    await sleep(500);
    expect(onlyLink.received.every((r) => r.data.connectionId === link.id)).toBe(true);
    expect(tenantB.received).toEqual([]);
    // Another tenant's connection is unknown to B.
    const err = await connectError(connect({ auth: { token: b.apiKey, connection_id: link.id } }).socket);
    expect(err.message).toMatch(/No connection named/);
  });

  it('takes a single-use ticket in auth', async () => {
    const { ticket } = (await a.api.post('/api/realtime/ticket')).body;
    const first = connect({ auth: { ticket } });
    await connected(first.socket);
    const again = await connectError(connect({ auth: { ticket } }).socket);
    expect(again.message).toMatch(/ticket/);
  });

  it('replays from the Hub\'s buffer with auth.since, before live events', async () => {
    const native = await openStream('/api/realtime', bearer(a.apiKey));
    try {
      await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'sio missed', count: 2 });
      const first = await native.next((f) => f.data.message?.message === 'sio missed 1', 'the first missed message');
      await native.next((f) => f.data.message?.message === 'sio missed 2', 'the second missed message');
      const { socket, received } = connect({ auth: { token: a.apiKey, since: first.sequence - 1 } });
      await connected(socket);
      await waitFor(received, 'sio missed 2', 'the replay');
      await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'sio live' });
      await waitFor(received, 'sio live', 'the live event after the replay');
      expect(received.filter((r) => r.event === 'new-message').map(textOf)).toEqual(['sio missed 1', 'sio missed 2', 'sio live']);
      const tooFar = connect({ auth: { token: a.apiKey, since: first.sequence + 10_000 } });
      await connected(tooFar.socket);
      const resync = await eventually(async () => tooFar.received.find((r) => r.event === 'resync'), 'a resync event');
      expect(resync.data).toMatchObject({ reason: 'unknown_sequence' });
    } finally {
      await native.close();
    }
  });

  it('keeps a session through the heartbeat (server ping at 25 s), on WebSocket and on long-polling', async () => {
    const ws = connect({ auth: { token: a.apiKey } });
    const polling = connect({ auth: { token: a.apiKey }, upgrade: false });
    await Promise.all([connected(ws.socket), connected(polling.socket)]);
    const pinged = (s: Socket) => new Promise<void>((resolve) => s.io.engine.once('ping', () => resolve()));
    await Promise.all([pinged(ws.socket), pinged(polling.socket)]);
    await sleep(500); // the pongs go back
    expect([ws.socket.connected, polling.socket.connected]).toEqual([true, true]);
    expect(ws.socket.io.engine.transport.name).toBe('websocket');
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'after the ping' });
    await waitFor(ws.received, 'after the ping', 'an event after the heartbeat (WebSocket)');
    await waitFor(polling.received, 'after the ping', 'an event after the heartbeat (polling)');
  }, 40_000);

  it('works from a separate Node process running plain socket.io-client code', async () => {
    const script = `
      import { io } from 'socket.io-client';
      const socket = io(process.env.URL, { auth: { token: process.env.KEY } });
      socket.on('connect', () => console.log(JSON.stringify({ connected: true })));
      socket.on('new-message', (data) => { console.log(JSON.stringify({ event: 'new-message', data, transport: socket.io.engine.transport.name })); });
      socket.on('connect_error', (e) => { console.log(JSON.stringify({ error: e.message })); process.exit(1); });
      setTimeout(() => process.exit(2), 40000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, URL: baseUrl(), KEY: a.apiKey }, cwd: process.cwd() });
    const lines: any[] = [];
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        lines.push(JSON.parse(buffer.slice(0, i)));
        buffer = buffer.slice(i + 1);
      }
    });
    try {
      await eventually(async () => lines.some((l) => l.connected), 'the child to connect', 15_000);
      await sleep(1_000); // let it upgrade
      await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'sio child' });
      const got = await eventually(async () => lines.find((l) => l.event === 'new-message' && l.data.message?.message === 'sio child'), 'the child to print the message');
      expect(got.data.connectionId).toBe(link.id);
      expect(got.transport).toBe('websocket');
    } finally {
      child.kill();
    }
  });
});

describe('Engine.IO long-polling, spoken by hand', () => {
  const eio = (query: string, init?: RequestInit) => fetch(`${baseUrl()}/socket.io/?EIO=4&transport=polling${query}`, init);
  const handshake = async () => {
    const res = await eio('');
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body[0]).toBe('0');
    return JSON.parse(body.slice(1)) as { sid: string; upgrades: string[]; pingInterval: number; pingTimeout: number; maxPayload: number };
  };

  it('opens with the v4 handshake, CONNECTs with a key and refuses a bad one', async () => {
    const t = await newTenant('eio');
    const open = await handshake();
    expect(open).toEqual({ sid: expect.stringMatching(/^[\w-]{20,}$/), upgrades: ['websocket'], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 });
    const post = await eio(`&sid=${open.sid}`, { method: 'POST', body: '40{"token":"sk_live_nope"}', headers: { 'content-type': 'text/plain;charset=UTF-8' } });
    expect([post.status, await post.text()]).toEqual([200, 'ok']);
    const refusedBody = await (await eio(`&sid=${open.sid}`)).text();
    expect(refusedBody).toMatch(/^44\{"message":".*not valid/);
    // Two packets in one POST (\x1e-separated): a second CONNECT, now with a good key, and a pong.
    await eio(`&sid=${open.sid}`, { method: 'POST', body: `40${JSON.stringify({ token: t.apiKey })}\x1e3` });
    const ok = await (await eio(`&sid=${open.sid}`)).text();
    expect(ok).toMatch(/^40\{"sid":"[\w-]+"\}$/);
    // A close packet ends the session; its sid is unknown from then on.
    await eio(`&sid=${open.sid}`, { method: 'POST', body: '1' });
    const after = await eio(`&sid=${open.sid}`);
    expect(after.status).toBe(400);
    expect(((await after.json()) as ErrorBody).error.code).toBe('unknown_session');
  });

  it('refuses what is not Engine.IO v4', async () => {
    expect((await fetch(`${baseUrl()}/socket.io/?EIO=3&transport=polling`)).status).toBe(400);
    expect((await fetch(`${baseUrl()}/socket.io/?EIO=4&transport=flashsocket`)).status).toBe(400);
    expect((await eio('', { method: 'POST', body: '40' })).status).toBe(400);
    const unknown = await eio('&sid=AAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as ErrorBody).error).toMatchObject({ code: 'unknown_session', message: expect.any(String) });
    const { sid } = await handshake();
    const garbage = await eio(`&sid=${sid}`, { method: 'POST', body: '9what' });
    expect(garbage.status).toBe(400);
  });

  it('answers a second, overlapping poll with 400 and ends the session', async () => {
    const { sid } = await handshake();
    const held = eio(`&sid=${sid}`); // nothing to send yet: held open
    await sleep(200);
    const second = await eio(`&sid=${sid}`);
    expect(second.status).toBe(400);
    expect(await (await held).text()).toBe('1'); // the held poll learns the session closed
  });
});
