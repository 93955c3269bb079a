// A realtime stream lasts no longer than what opened it: revoking the API key, logging the dashboard
// session out or the key's expiry ends every stream it opened, native WebSockets (close code 4001) and
// Socket.IO sessions (a server disconnect, which socket.io-client does not retry by itself) alike, and
// streams opened with a ticket end with the credential that asked for the ticket. Other streams go on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { baseUrl, call, closeDatabase, newTenant } from '../harness/api';
import { bearer, openStream, type Stream } from './streams';

type Tenant = Awaited<ReturnType<typeof newTenant>>;

const CREDENTIAL_ENDED = 4001;
let t: Tenant;
const sockets: Socket[] = [];
const streams: Stream[] = [];

beforeAll(async () => {
  t = await newTenant('stream-end');
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await Promise.all(streams.map((s) => s.close().catch(() => {})));
  await closeDatabase();
});

async function mint(body: { expires_at?: string } = {}): Promise<{ id: string; key: string }> {
  const res = await t.api.post('/api/keys', { name: 'stream', scopes: ['read'], ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function stream(headers: Record<string, string>, path = '/api/realtime'): Promise<Stream> {
  const s = await openStream(path, headers);
  streams.push(s);
  return s;
}

/**
 * Resolves with the close code once the server closes the stream; rejects after `ms`. (Locally the close
 * event comes some seconds after the close frame: the ws client waits for the TCP connection to end, which
 * wrangler's proxy takes its time over.)
 */
const closed = (s: Stream, ms = 25_000) =>
  new Promise<number>((resolve, reject) => {
    if (s.ws.readyState === s.ws.CLOSED) return reject(new Error('closed before we listened'));
    const timer = setTimeout(() => reject(new Error('the stream stayed open')), ms);
    s.ws.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });

function socketIo(auth: Record<string, string>): Promise<Socket> {
  const socket = io(baseUrl(), { reconnection: false, forceNew: true, auth });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

const disconnected = (socket: Socket, ms = 10_000) =>
  new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the Socket.IO session stayed connected')), ms);
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });

describe('realtime streams end with their credential', () => {
  it('revoking a key closes its native stream, its Socket.IO session and its ticket stream, and nothing else', { timeout: 60_000 }, async () => {
    const doomed = await mint();
    const other = await mint();
    const native = await stream(bearer(doomed.key));
    const ticket = (await call('POST', '/api/realtime/ticket', { key: doomed.key, body: {} })).body.ticket;
    const viaTicket = await stream({}, `/api/realtime?ticket=${encodeURIComponent(ticket)}`);
    const sio = await socketIo({ token: doomed.key });
    const bystander = await stream(bearer(other.key));
    const bystanderSio = await socketIo({ token: other.key });

    const nativeClosed = closed(native);
    const ticketClosed = closed(viaTicket);
    const sioGone = disconnected(sio);
    expect((await t.api.delete(`/api/keys/${doomed.id}`)).status).toBe(200);
    expect(await nativeClosed).toBe(CREDENTIAL_ENDED);
    expect(await ticketClosed).toBe(CREDENTIAL_ENDED);
    expect(await sioGone).toBe('io server disconnect');

    // The others are still open and still served.
    await new Promise((r) => setTimeout(r, 500));
    expect(bystander.ws.readyState).toBe(bystander.ws.OPEN);
    expect(bystanderSio.connected).toBe(true);
  });

  it('logging out a dashboard session closes the streams it opened', { timeout: 60_000 }, async () => {
    const login = await call('POST', '/api/auth/login', { body: { email: t.email, password: t.password } });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const native = await stream({ cookie, origin: baseUrl() });
    const nativeClosed = closed(native);
    expect((await call('POST', '/api/auth/logout', { headers: { cookie, origin: baseUrl() } })).status).toBe(200);
    expect(await nativeClosed).toBe(CREDENTIAL_ENDED);
  });

  it('a key that expires closes its streams at its expiry', { timeout: 60_000 }, async () => {
    const soon = await mint({ expires_at: new Date(Date.now() + 4_000).toISOString() });
    const native = await stream(bearer(soon.key));
    const sio = await socketIo({ token: soon.key });
    const started = Date.now();
    const [code, reason] = await Promise.all([closed(native, 30_000), disconnected(sio, 15_000)]);
    expect(code).toBe(CREDENTIAL_ENDED);
    expect(reason).toBe('io server disconnect');
    expect(Date.now() - started).toBeGreaterThan(2_000); // not before it expired
  });
});
