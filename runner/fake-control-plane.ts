// A stand-in for the control plane in runner tests: speaks protocol/runner.ts exactly (link WebSocket,
// event batches, epoch-checked auth state kept like R2: snapshot + delta log, media files for sends under
// /internal/media/<ref>), and lets a test grant, revoke and command, and inject faults. Test-only; the real one lives in worker/.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  AuthStateWrite,
  EventBatch,
  RunnerToControl,
  type Command,
  type ControlToRunner,
  type EventBatchResult,
  type RunnerEvent,
} from '../protocol/runner.js';
import { runnerIdOfToken } from '../protocol/runner-token.js';

export type StoredEvent = { pk: string; epoch: number; runnerId: string; event: RunnerEvent };
type Reply = Extract<RunnerToControl, { type: 'reply' }>;

export const startFakeControlPlane = async (opts: { token?: string; heartbeatMs?: number; /** How far this control plane's clock is ahead of the runner's. */ clockAheadMs?: number } = {}) => {
  const token = opts.token ?? 'test-runner-token';
  /** A runner credential for `runnerId` (what a runner's RUNNER_TOKEN must be: sbr_<runner id>_<secret>). */
  const tokenFor = (runnerId: string) => `sbr_${runnerId}_${'5b'.repeat(32)}`;
  /** The shared test token (direct outbox / auth-state tests), or any runner credential of ours. */
  const accepted = (header: string | undefined, runnerId?: string) => {
    const given = /^Bearer (\S+)$/.exec(header ?? '')?.[1];
    if (!given) return false;
    if (given === token) return true;
    const named = runnerIdOfToken(given);
    return named !== undefined && given === tokenFor(named) && (runnerId === undefined || named === runnerId);
  };
  /** Current epoch of each known connection: the fence. */
  const epochs = new Map<string, number>();
  const events: StoredEvent[] = [];
  const auth = new Map<string, { snapshot: { seq: number; data: string } | null; deltas: Array<{ seq: number; data: string }> }>();
  const authWrites: AuthStateWrite[] = [];
  /** Files a media `send` may point at: GET /internal/media/<ref> (bearer token required, like everything here). */
  const media = new Map<string, { body: Buffer; contentType: string }>();
  const runners = new Map<string, { ws: WebSocket; frames: RunnerToControl[] }>();
  const frames: Array<{ runnerId: string; frame: RunnerToControl }> = [];
  const listeners = new Set<() => void>();
  /** poisonEvents: a batch holding one of these event ids is answered 500; tooLargeEvents: 413. */
  const faults = { eventsFailures: 0, eventsDown: false, eventPosts: 0, authWriteFailures: 0, poisonEvents: new Set<string>(), tooLargeEvents: new Set<string>() };
  const changed = () => listeners.forEach(l => l());

  const json = (res: ServerResponse, status: number, body?: unknown) => {
    res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' }).end(body === undefined ? undefined : JSON.stringify(body));
  };
  const readBody = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString();
  };

  const server = createServer(async (req, res) => {
    if (!accepted(req.headers.authorization)) return json(res, 401, { error: { code: 'unauthorized', message: 'bad token' } });
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'POST' && url.pathname === '/internal/events') {
      faults.eventPosts++;
      const text = await readBody(req);
      if (faults.eventsDown) return void (req.socket.destroy(), changed());
      if (faults.eventsFailures > 0) {
        faults.eventsFailures--;
        return json(res, 503, { error: { code: 'unavailable', message: 'try later' } });
      }
      const parsed = EventBatch.safeParse(JSON.parse(text));
      if (!parsed.success) return json(res, 400, { error: { code: 'invalid_batch', message: parsed.error.message } });
      const ids = parsed.data.leases.flatMap((l) => l.events.map((e) => e.id));
      if (ids.some((id) => faults.tooLargeEvents.has(id))) return json(res, 413, { error: { code: 'payload_too_large', message: 'too large' } });
      if (ids.some((id) => faults.poisonEvents.has(id))) return json(res, 500, { error: { code: 'internal_error', message: 'poison' } });
      const result: EventBatchResult = { accepted: [], rejected: [] };
      for (const lease of parsed.data.leases) {
        const current = epochs.get(lease.connection_pk);
        if (current === undefined) result.rejected.push({ connection_pk: lease.connection_pk, reason: 'unknown_connection' });
        else if (lease.epoch !== current) result.rejected.push({ connection_pk: lease.connection_pk, reason: 'stale_epoch' });
        else {
          for (const event of lease.events) events.push({ pk: lease.connection_pk, epoch: lease.epoch, runnerId: parsed.data.runner_id, event });
          result.accepted.push({ connection_pk: lease.connection_pk, count: lease.events.length });
        }
      }
      changed();
      return json(res, 200, result);
    }
    const file = req.method === 'GET' && url.pathname.match(/^\/internal\/media\/([\w.-]+)$/);
    if (file) {
      const found = media.get(file[1]!);
      if (!found) return json(res, 404, { error: { code: 'media_not_found', message: 'no such media' } });
      res.writeHead(200, { 'content-type': found.contentType, 'content-length': String(found.body.length) }).end(found.body);
      return;
    }
    const m = url.pathname.match(/^\/internal\/sessions\/([0-9a-f-]{36})\/auth$/);
    if (m) {
      const pk = m[1]!;
      const stale = (epoch: number) => epochs.get(pk) !== epoch;
      if (!epochs.has(pk)) return json(res, 404, { error: { code: 'connection_not_found', message: 'Unknown connection.' } });
      if (req.method === 'GET') {
        if (stale(Number(url.searchParams.get('epoch')))) return json(res, 409, { error: { code: 'stale_epoch', message: 'stale' } });
        const stored = auth.get(pk);
        return stored ? json(res, 200, stored) : json(res, 404, { error: { code: 'not_found', message: 'none' } });
      }
      if (req.method === 'POST') {
        const write = AuthStateWrite.parse(JSON.parse(await readBody(req)));
        if (stale(write.epoch)) return json(res, 409, { error: { code: 'stale_epoch', message: 'stale' } });
        if (faults.authWriteFailures > 0) {
          faults.authWriteFailures--;
          return json(res, 503, { error: { code: 'unavailable', message: 'try later' } });
        }
        authWrites.push(write);
        const stored = auth.get(pk) ?? { snapshot: null, deltas: [] };
        if (write.kind === 'snapshot') {
          stored.snapshot = { seq: write.seq, data: write.data };
          stored.deltas = stored.deltas.filter(d => d.seq > write.seq);
        } else stored.deltas.push({ seq: write.seq, data: write.data });
        auth.set(pk, stored);
        changed();
        return json(res, 204);
      }
      if (req.method === 'DELETE') {
        if (stale(Number(url.searchParams.get('epoch')))) return json(res, 409, { error: { code: 'stale_epoch', message: 'stale' } });
        auth.delete(pk);
        changed();
        return json(res, 204);
      }
    }
    json(res, 404, { error: { code: 'not_found', message: url.pathname } });
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const runnerId = url.searchParams.get('runner_id');
    if (url.pathname !== '/internal/runners/connect' || !runnerId || !accepted(req.headers.authorization, runnerId)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, ws => {
      const entry = { ws, frames: [] as RunnerToControl[] };
      runners.set(runnerId, entry);
      ws.on('message', data => {
        const frame = RunnerToControl.parse(JSON.parse(data.toString()));
        entry.frames.push(frame);
        frames.push({ runnerId, frame });
        if (frame.type === 'hello') sendTo(runnerId, { type: 'welcome', runner_id: runnerId, heartbeat_interval_ms: opts.heartbeatMs ?? 5000, server_time: Date.now() + (opts.clockAheadMs ?? 0) });
        changed();
      });
      ws.on('close', () => {
        if (runners.get(runnerId)?.ws === ws) runners.delete(runnerId);
        changed();
      });
    });
  });

  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const sendTo = (runnerId: string, frame: ControlToRunner) => {
    const r = runners.get(runnerId);
    if (!r) throw new Error(`runner ${runnerId} is not connected`);
    r.ws.send(JSON.stringify(frame));
  };

  /** Resolves with the first value `check` returns (re-checked on every change), or rejects after timeoutMs. */
  const until = <T>(check: () => T | undefined, timeoutMs = 20_000, what = 'condition'): Promise<T> =>
    new Promise((resolve, reject) => {
      const attempt = () => {
        const v = check();
        if (v === undefined) return false;
        cleanup();
        resolve(v);
        return true;
      };
      const timer = setTimeout(() => (cleanup(), reject(new Error(`timed out waiting for ${what}`))), timeoutMs);
      const listener = () => void attempt();
      const cleanup = () => (clearTimeout(timer), listeners.delete(listener));
      listeners.add(listener);
      attempt();
    });

  return {
    url,
    token,
    tokenFor,
    epochs,
    events,
    auth,
    authWrites,
    media,
    runners,
    frames,
    faults,
    until,
    sendTo,
    /** Leases a connection to a runner under a new (or given) epoch. */
    grant(runnerId: string, pk: string, epoch = (epochs.get(pk) ?? 0) + 1, tenantId = randomUUID(), connectionId = 'conn') {
      epochs.set(pk, epoch);
      sendTo(runnerId, { type: 'lease.grant', connection_pk: pk, tenant_id: tenantId, connection_id: connectionId, epoch });
      return epoch;
    },
    /** Asks for a lease back and resolves when the runner answers lease.released. */
    async revoke(runnerId: string, pk: string, reason: 'moved' | 'deleted' | 'stopped' | 'drain' | 'stale' = 'moved') {
      const epoch = epochs.get(pk)!;
      const seen = frames.length;
      sendTo(runnerId, { type: 'lease.revoke', connection_pk: pk, epoch, reason });
      return until(
        () => frames.slice(seen).find(f => f.runnerId === runnerId && f.frame.type === 'lease.released' && f.frame.connection_pk === pk),
        20_000,
        'lease.released',
      );
    },
    async command(runnerId: string, pk: string, command: Command, epoch = epochs.get(pk)!): Promise<Reply> {
      const request_id = randomUUID();
      sendTo(runnerId, { type: 'command', request_id, connection_pk: pk, epoch, command });
      const f = await until(() => frames.find(x => x.frame.type === 'reply' && x.frame.request_id === request_id), 25_000, `reply to ${command.name}`);
      return f.frame as Reply;
    },
    eventsOf: (pk: string) => events.filter(e => e.pk === pk).map(e => e.event),
    waitForEvent: (pk: string, predicate: (e: RunnerEvent) => boolean, timeoutMs = 20_000, what = 'event') =>
      until(() => events.find(e => e.pk === pk && predicate(e.event))?.event, timeoutMs, what),
    async close() {
      for (const r of runners.values()) r.ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>(resolve => server.close(() => resolve()));
    },
  };
};

export type FakeControlPlane = Awaited<ReturnType<typeof startFakeControlPlane>>;
