// One Socket.IO client (one Engine.IO session), as a Durable Object named by its Engine.IO sid.
//
// Why an object of its own, not the tenant's Hub: an unchanged socket.io-client starts with HTTP
// long-polling and sends its API key only in the CONNECT packet (`auth: { token }`), after the handshake,
// and it opens the WebSocket it upgrades to while that CONNECT may still be in flight. Every request of a
// session must reach the one place that holds its state, before anyone knows the tenant; the sid is the
// only routing key all of them carry. So the session lives here: the long-poll (held requests, the
// outbox), the upgrade (probe, noop, switch), the heartbeat (alarms), and, after upgrade, the WebSocket
// (hibernatable). Once CONNECT authenticated it, it joins its tenant's Hub, which relays it every frame
// whose connection matches (`deliver`), rendered once per event as `42["event",data]`.
//
// State that must survive hibernation (the tenant, the filter, the heartbeat clock) is in storage; the
// outbox and a held poll exist only while polling, when a request is in flight and the object stays up.
import { DurableObject } from 'cloudflare:workers';
import { readBounded } from '../../protocol/read-bounded';
import { z } from 'zod';
import { ConnectionId } from '../../protocol/connections';
import { TICKET_PATTERN } from '../../protocol/realtime';
import { findConnection } from '../data/connections';
import { httpDb } from '../data/db';
import type { Env } from '../env';
import { hubOf } from '../hub/client';
import { DEFAULT_HANDSHAKE, decodePacket, decodePayload, encodePacket, encodePayload, openPacket, type EnginePacket } from './engineio';
import { carriesCredential, tenantFromApiKey, tenantFromHeaders, tenantFromTicket, type Verdict } from './credentials';
import { connectError, connectOk, decodeSio, disconnectPacket, SIO } from './socketio';

/** Headers by which the Worker routes a request to its session. */
export const SESSION_HEADERS = { sid: 'x-switchboard-eio-sid', handshake: 'x-switchboard-eio-handshake' } as const;

const HANDSHAKE = DEFAULT_HANDSHAKE;
/** A session that has not CONNECTed within this long is closed (as socket.io's connectTimeout). */
const CONNECT_TIMEOUT_MS = 45_000;

/** The CONNECT packet's auth payload. Unknown keys are ignored (clients add their own). */
const ConnectAuth = z.object({
  token: z.string().regex(/^\S{1,200}$/, 'an API key').optional(),
  ticket: z.string().max(200).optional(),
  connection_id: ConnectionId.optional(),
  since: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

/** What the handshake's query string may narrow (socket.io-client's `query` option). */
const HandshakeQuery = z.object({
  connection_id: ConnectionId.optional(),
  since: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

interface SessionState {
  sid: string;
  transport: 'polling' | 'websocket';
  /** Set once CONNECT succeeded: the Socket.IO socket id, the tenant and the connection filter. */
  socketId: string | null;
  tenantId: string | null;
  filter: string | null;
  /** The verdict on credentials the handshake request carried in headers (extraHeaders, a cookie). */
  headerAuth: Verdict | null;
  query: z.infer<typeof HandshakeQuery>;
  url: string;
  nextPingAt: number;
  pongDeadline: number | null;
  connectDeadline: number | null;
}

type Role = 'probe' | 'active';

const text = (body: string, status = 200) => new Response(body, { status, headers: { 'content-type': 'text/plain; charset=UTF-8' } });
const engineError = (status: number, code: string, message: string) =>
  new Response(JSON.stringify({ error: { code, message } }), { status, headers: { 'content-type': 'application/json' } });

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export const newSid = randomId;

export class SocketIoSession extends DurableObject<Env> {
  private state: SessionState | null = null;
  private outbox: string[] = [];
  private heldPoll: ((body: string) => void) | null = null;
  /** The probe WebSocket answered `3probe`: polls are released at once until the client sends `5`. */
  private probed = false;
  /** Frames the Hub relayed while CONNECT was still being answered; sent right after it. */
  private early: string[] = [];
  private connecting = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      this.state = (await ctx.storage.get<SessionState>('state')) ?? null;
    });
  }

  private save() {
    if (this.state) void this.ctx.storage.put('state', this.state);
  }

  // Requests from the Worker ---------------------------------------------------------------------

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const isUpgrade = request.headers.get('upgrade')?.toLowerCase() === 'websocket';
    if (request.headers.get(SESSION_HEADERS.handshake) === '1') return this.open(request, url, isUpgrade);
    if (!this.state) return engineError(400, 'unknown_session', 'Session ID unknown.');
    if (isUpgrade) return this.acceptProbe();
    if (request.method === 'GET') return this.poll();
    if (request.method === 'POST') return this.receivePost(request);
    return engineError(400, 'bad_request', 'Only GET and POST.');
  }

  private async open(request: Request, url: URL, isUpgrade: boolean): Promise<Response> {
    const sid = request.headers.get(SESSION_HEADERS.sid)!;
    const query = HandshakeQuery.safeParse(Object.fromEntries(url.searchParams));
    if (!query.success) return engineError(400, 'validation_failed', `Invalid query: ${query.error.issues[0]?.message ?? 'bad value'}.`);
    const now = Date.now();
    this.state = {
      sid,
      transport: isUpgrade ? 'websocket' : 'polling',
      socketId: null,
      tenantId: null,
      filter: null,
      headerAuth: carriesCredential(request.headers) ? await tenantFromHeaders(this.env, request.headers, request.url) : null,
      query: query.data,
      url: url.origin,
      nextPingAt: now + HANDSHAKE.pingInterval,
      pongDeadline: null,
      connectDeadline: now + CONNECT_TIMEOUT_MS,
    };
    this.save();
    await this.scheduleAlarm();
    const open = openPacket(sid, isUpgrade ? { ...HANDSHAKE, upgrades: [] } : HANDSHAKE);
    if (!isUpgrade) return text(open);
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ role: 'active' satisfies Role });
    server.send(open);
    return new Response(null, { status: 101, webSocket: client });
  }

  private acceptProbe(): Response {
    if (this.state!.transport !== 'polling') return engineError(400, 'bad_request', 'This session already uses a WebSocket.');
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ role: 'probe' satisfies Role });
    return new Response(null, { status: 101, webSocket: client });
  }

  private poll(): Promise<Response> | Response {
    if (this.state!.transport !== 'polling') return engineError(400, 'bad_request', 'This session was upgraded to a WebSocket.');
    if (this.heldPoll) {
      // Two polls at once breaks the protocol: the session ends (as engine.io does).
      void this.close('overlapping polls');
      return engineError(400, 'bad_request', 'A poll is already pending for this session.');
    }
    if (this.outbox.length) return text(this.takeOutbox());
    if (this.probed) return text(encodePacket('noop'));
    return new Promise((resolve) => {
      this.heldPoll = (body) => resolve(text(body));
    });
  }

  private async receivePost(request: Request): Promise<Response> {
    if (this.state!.transport !== 'polling') return engineError(400, 'bad_request', 'This session was upgraded to a WebSocket.');
    const declared = Number(request.headers.get('content-length') ?? 0);
    if (declared > HANDSHAKE.maxPayload) {
      void this.close('payload too large');
      return engineError(413, 'payload_too_large', `A payload is at most ${HANDSHAKE.maxPayload} bytes.`);
    }
    // Read no further than the limit, whatever the body claims (a chunked body declares nothing).
    const read = request.body ? await readBounded(request.body, HANDSHAKE.maxPayload) : { bytes: new Uint8Array() };
    if ('over' in read) {
      await request.body?.cancel().catch(() => {});
      void this.close('payload too large');
      return engineError(413, 'payload_too_large', `A payload is at most ${HANDSHAKE.maxPayload} bytes.`);
    }
    const body = new TextDecoder().decode(read.bytes);
    const packets = decodePayload(body);
    if (!packets) {
      void this.close('malformed payload');
      return engineError(400, 'bad_request', 'Malformed Engine.IO payload.');
    }
    for (const p of packets) await this.onPacket(p, request.headers);
    return text('ok');
  }

  // The WebSocket ----------------------------------------------------------------------------------

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    if (!this.state) {
      ws.close(1000, 'session closed');
      return;
    }
    if (typeof data !== 'string') return; // binary: not part of what Switchboard speaks
    if (data.length > HANDSHAKE.maxPayload) {
      await this.close('payload too large');
      return;
    }
    const role = (ws.deserializeAttachment() as { role: Role }).role;
    if (role === 'probe') {
      if (data === '2probe') {
        ws.send('3probe');
        this.probed = true;
        // Release a held poll, so the client can pause polling and send `5` over this socket.
        this.flushPoll(true);
      } else if (data === encodePacket('upgrade')) {
        ws.serializeAttachment({ role: 'active' satisfies Role });
        this.state.transport = 'websocket';
        this.save();
        const pending = this.outbox.splice(0);
        this.flushPoll(true);
        for (const p of pending) ws.send(p);
      }
      return;
    }
    const packet = decodePacket(data);
    if (!packet) {
      await this.close('malformed packet');
      return;
    }
    await this.onPacket(packet, null);
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    const role = (ws.deserializeAttachment() as { role: Role } | null)?.role;
    // A probe that goes away leaves the session on polling; the active socket going away ends it.
    if (role === 'active') await this.close('transport close');
    else this.probed = false;
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.webSocketClose(ws);
  }

  // Engine.IO and Socket.IO ------------------------------------------------------------------------

  private async onPacket(p: EnginePacket, headers: Headers | null): Promise<void> {
    if (!this.state) return;
    switch (p.type) {
      case 'pong':
        this.state.pongDeadline = null;
        this.save();
        return;
      case 'close':
        await this.close('client close');
        return;
      case 'message':
        await this.onSocketIo(p.data, headers);
        return;
      default:
        return; // ping from a client (v3 habit), noop, binary: nothing to do
    }
  }

  private async onSocketIo(textPacket: string, headers: Headers | null): Promise<void> {
    const p = decodeSio(textPacket);
    if (p instanceof Error) {
      await this.close(`bad Socket.IO packet: ${p.message}`);
      return;
    }
    if (p.type === SIO.connect) {
      await this.onConnect(p.nsp, p.data, headers);
    } else if (p.type === SIO.disconnect) {
      await this.close('client namespace disconnect');
    }
    // EVENT and ACK from clients: the channel is server-to-client only; they are ignored.
  }

  private async onConnect(nsp: string, data: unknown, headers: Headers | null): Promise<void> {
    const s = this.state!;
    if (nsp !== '/') {
      this.send(connectError('Invalid namespace', nsp));
      return;
    }
    if (s.socketId || this.connecting) return;
    const auth = ConnectAuth.safeParse(data ?? {});
    if (!auth.success) {
      const issue = auth.error.issues[0];
      this.send(connectError(`Invalid auth: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'bad value'}.`));
      return;
    }
    this.connecting = true;
    try {
      const verdict = await this.authenticate(auth.data, headers);
      if (!verdict.ok) {
        this.send(connectError(verdict.message));
        return;
      }
      const filter = auth.data.connection_id ?? s.query.connection_id ?? null;
      if (filter !== null && !(await findConnection(httpDb(this.env), verdict.tenantId, filter))) {
        this.send(connectError(`No connection named "${filter}".`));
        return;
      }
      if (!this.state) return; // closed meanwhile
      const backlog = await hubOf(this.env, verdict.tenantId).subscribe(s.sid, filter, auth.data.since ?? s.query.since, {
        credential: verdict.credential,
        expiresAt: verdict.expiresAt,
      });
      if (!this.state) {
        await hubOf(this.env, verdict.tenantId).unsubscribe(s.sid);
        return;
      }
      Object.assign(this.state, { socketId: randomId(), tenantId: verdict.tenantId, filter, connectDeadline: null });
      this.save();
      this.send(connectOk(this.state.socketId!));
      for (const packet of [...backlog, ...this.early.splice(0)]) this.send(packet);
    } finally {
      this.connecting = false;
    }
  }

  private async authenticate(auth: z.infer<typeof ConnectAuth>, headers: Headers | null): Promise<Verdict> {
    const s = this.state!;
    if (auth.ticket !== undefined) {
      if (!TICKET_PATTERN.test(auth.ticket)) return { ok: false, message: 'The ticket is not valid.' };
      const redeemed = await tenantFromTicket(this.env, auth.ticket);
      return redeemed ? { ok: true, ...redeemed } : { ok: false, message: 'The ticket is not valid, has expired or was already used.' };
    }
    if (auth.token !== undefined) return tenantFromApiKey(this.env, auth.token, s.url);
    if (s.headerAuth) return s.headerAuth;
    if (headers && carriesCredential(headers)) return tenantFromHeaders(this.env, headers, s.url);
    return { ok: false, message: 'Authentication required: pass auth: { token: "<API key>" } (or an Authorization header).' };
  }

  // Sending ----------------------------------------------------------------------------------------

  /** Frames from the tenant's Hub; false tells it this session is gone. */
  async deliver(packets: string[]): Promise<boolean> {
    if (!this.state) return false;
    if (!this.state.socketId) {
      this.early.push(...packets);
      return true;
    }
    for (const p of packets) this.send(p);
    return true;
  }

  private activeSocket(): WebSocket | undefined {
    return this.ctx.getWebSockets().find((ws) => (ws.deserializeAttachment() as { role: Role } | null)?.role === 'active');
  }

  private send(packet: string) {
    if (!this.state) return;
    if (this.state.transport === 'websocket') {
      try {
        this.activeSocket()?.send(packet);
      } catch {
        // closing: webSocketClose ends the session
      }
      return;
    }
    this.outbox.push(packet);
    this.flushPoll(false);
  }

  private takeOutbox(): string {
    return encodePayload(this.outbox.splice(0));
  }

  /** Answers a held poll with the outbox, or with a noop when `release` and there is nothing to send. */
  private flushPoll(release: boolean) {
    const held = this.heldPoll;
    if (!held) return;
    if (this.outbox.length === 0 && !release) return;
    this.heldPoll = null;
    held(this.outbox.length ? this.takeOutbox() : encodePacket('noop'));
  }

  // Heartbeat and end ------------------------------------------------------------------------------

  private async scheduleAlarm() {
    const s = this.state;
    if (!s) return;
    const at = Math.min(s.nextPingAt, s.pongDeadline ?? Infinity, s.connectDeadline ?? Infinity);
    await this.ctx.storage.setAlarm(at);
  }

  override async alarm(): Promise<void> {
    const s = this.state;
    if (!s) return;
    const now = Date.now();
    if (s.pongDeadline !== null && now >= s.pongDeadline) return this.close('ping timeout');
    if (s.connectDeadline !== null && now >= s.connectDeadline) return this.close('connect timeout');
    if (now >= s.nextPingAt) {
      this.send(encodePacket('ping'));
      s.pongDeadline = now + HANDSHAKE.pingTimeout;
      s.nextPingAt = now + HANDSHAKE.pingInterval;
      this.save();
    }
    await this.scheduleAlarm();
  }

  /**
   * The Hub ends this session: its credential was revoked or expired. The client is told as Socket.IO
   * servers tell it (a DISCONNECT packet: socket.io-client reports "io server disconnect" and does not
   * reconnect by itself), then the transport closes.
   */
  async end(reason: string): Promise<void> {
    if (!this.state) return;
    if (this.state.socketId) this.send(disconnectPacket());
    this.state.tenantId = null; // the Hub already forgot this session
    await this.close(reason);
  }

  private async close(reason: string): Promise<void> {
    const s = this.state;
    if (!s) return;
    this.state = null;
    const held = this.heldPoll;
    this.heldPoll = null;
    held?.(encodePacket('close'));
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.close(1000, reason.slice(0, 100));
      } catch {
        // already closed
      }
    }
    this.outbox = [];
    this.early = [];
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    if (s.tenantId) await hubOf(this.env, s.tenantId).unsubscribe(s.sid).catch(() => {});
  }
}
