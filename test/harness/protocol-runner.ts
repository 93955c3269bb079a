// A runner reduced to its wire protocol (protocol/runner.ts): it links to the real control plane, records
// what the Scheduler tells it, and lets a test answer commands and post events by hand. Used to test the
// control plane's side of fencing, placement and command routing exactly, including misbehaving runners.
// Against a sharded Scheduler (SCHEDULER_SHARDS) it links to every shard as a real runner does
// (runner/shard-links.ts): frames from all links are recorded together, and what it sends goes to the
// shard it concerns.
import WebSocket from 'ws';
import { ControlToRunner, type Command, type CommandResult, type RunnerEvent, type RunnerToControl } from '../../protocol/runner';
import { randomUUID } from 'node:crypto';
import { baseUrl, eventually } from './api';
import { connectionPk } from './seed';
import { runnerToken } from './runner-tokens';
import { shardOf } from '../../protocol/shards';

export type Grant = Extract<ControlToRunner, { type: 'lease.grant' }>;
export type Revoke = Extract<ControlToRunner, { type: 'lease.revoke' }>;
export type CommandFrame = Extract<ControlToRunner, { type: 'command' }>;

export interface ProtocolRunnerOptions {
  capacity?: number;
  /** Sessions to claim in hello. */
  claims?: { connection_pk: string; epoch: number }[];
  /** Answers commands; default: no answer (the control plane times out). */
  onCommand?: (frame: CommandFrame) => { ok: true; result: CommandResult } | { ok: false; code: string; message: string } | undefined;
  heartbeat?: boolean;
  /** Features to claim in hello (protocol/runner.ts runnerFeatures); default none, as a protocol-1 runner. */
  features?: string[];
  /** Defaults to this runner id's own credential (runner-tokens.ts); null: no Authorization header. */
  token?: string | null;
}

export class ProtocolRunner {
  readonly frames: ControlToRunner[] = [];
  /** One link per Scheduler shard, shard 0 first. */
  private links: WebSocket[] = [];
  private shards = 1;
  /** The link each command came by, which its reply must go back on. */
  private commandLinks = new Map<string, WebSocket>();
  private heartbeats = new Map<WebSocket, ReturnType<typeof setInterval>>();
  private waiters: (() => void)[] = [];
  /** Set once the control plane (or this side) closed the link. */
  closedWith?: { code: number; reason: string };

  constructor(
    readonly id: string,
    private readonly opts: ProtocolRunnerOptions = {},
  ) {}

  static async connect(id: string, opts: ProtocolRunnerOptions = {}) {
    const runner = new ProtocolRunner(id, opts);
    await runner.open();
    return runner;
  }

  private async open() {
    await this.openLink(0);
    for (let shard = 1; shard < this.shards; shard++) await this.openLink(shard);
  }

  private async openLink(shard: number) {
    const url = `${baseUrl().replace(/^http/, 'ws')}/internal/runners/connect?runner_id=${encodeURIComponent(this.id)}${shard > 0 ? `&shard=${shard}` : ''}`;
    const token = this.opts.token === undefined ? await runnerToken(this.id) : this.opts.token;
    const ws = new WebSocket(url, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    this.links[shard] = ws;
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => reject(new Error(`link refused: ${res.statusCode} ${body}`)));
      });
    });
    ws.on('close', (code, reason) => {
      this.closedWith ??= { code, reason: reason.toString() };
      clearInterval(this.heartbeats.get(ws));
      for (const w of this.waiters.splice(0)) w();
    });
    const welcomed = new Promise<void>((resolve) => {
      ws.on('message', (data) => {
        const frame = this.receive(String(data), ws);
        if (frame.type === 'welcome') resolve();
      });
    });
    const claims = (this.opts.claims ?? []).filter((c) => shardOf(c.connection_pk, this.shards) === shard);
    ws.send(JSON.stringify({ type: 'hello', runner_id: this.id, protocol: 1, ...(this.opts.features ? { features: this.opts.features } : {}), capacity: this.opts.capacity ?? 10, leases: claims } satisfies RunnerToControl));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`runner ${this.id}: no welcome from shard ${shard} within 20000 ms`)), 20_000)));
    await Promise.race([welcomed, late]).finally(() => clearTimeout(timer));
  }

  private receive(text: string, ws: WebSocket): ControlToRunner {
    const frame = ControlToRunner.parse(JSON.parse(text));
    this.frames.push(frame);
    if (frame.type === 'welcome') {
      this.shards = frame.shards ?? 1;
      if (this.opts.heartbeat !== false) {
        clearInterval(this.heartbeats.get(ws));
        this.heartbeats.set(ws, setInterval(() => ws.send(JSON.stringify({ type: 'heartbeat', sessions: this.held().length } satisfies RunnerToControl)), frame.heartbeat_interval_ms));
      }
    }
    if (frame.type === 'command') {
      this.commandLinks.set(frame.request_id, ws);
      const answer = this.opts.onCommand?.(frame);
      if (answer?.ok) this.send({ type: 'reply', request_id: frame.request_id, ok: true, result: answer.result });
      else if (answer) {
        this.send({ type: 'reply', request_id: frame.request_id, ok: false, error: { code: answer.code as never, message: answer.message } });
      }
    }
    for (const w of this.waiters.splice(0)) w();
    return frame;
  }

  send(frame: RunnerToControl) {
    const text = JSON.stringify(frame);
    switch (frame.type) {
      case 'lease.released':
        return this.links[shardOf(frame.connection_pk, this.shards)]!.send(text);
      case 'reply':
        return (this.commandLinks.get(frame.request_id) ?? this.links[0]!).send(text);
      case 'draining':
      case 'heartbeat':
        return this.links.forEach((ws) => ws.send(text));
      default:
        return this.links[0]!.send(text);
    }
  }

  grants(pk?: string): Grant[] {
    return this.frames.filter((f): f is Grant => f.type === 'lease.grant' && (!pk || f.connection_pk === pk));
  }

  revokes(pk?: string): Revoke[] {
    return this.frames.filter((f): f is Revoke => f.type === 'lease.revoke' && (!pk || f.connection_pk === pk));
  }

  commands(): CommandFrame[] {
    return this.frames.filter((f): f is CommandFrame => f.type === 'command');
  }

  /** Leases granted and not revoked since. */
  held(): Grant[] {
    const out = new Map<string, Grant>();
    for (const f of this.frames) {
      if (f.type === 'lease.grant') out.set(f.connection_pk, f);
      if (f.type === 'lease.revoke' && out.get(f.connection_pk)?.epoch === f.epoch) out.delete(f.connection_pk);
    }
    return [...out.values()];
  }

  async waitFor(predicate: (f: ControlToRunner) => boolean, timeoutMs = 20_000): Promise<ControlToRunner> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`runner ${this.id}: no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.map((f) => f.type))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  release(pk: string, epoch: number) {
    this.send({ type: 'lease.released', connection_pk: pk, epoch });
  }

  /** Drops the link without a goodbye, as a killed process would. */
  vanish() {
    this.heartbeats.forEach((timer) => clearInterval(timer));
    this.links.forEach((ws) => ws.terminate());
  }

  close() {
    this.heartbeats.forEach((timer) => clearInterval(timer));
    for (const ws of this.links) if (ws.readyState === WebSocket.OPEN) ws.close();
  }
}

/** POST /internal/events as `runnerId` (with its own token unless another is given; null: no token at all). */
export async function postEvents(runnerId: string, leases: { connection_pk: string; epoch: number; events: RunnerEvent[] }[], token?: string | null) {
  const res = await fetch(`${baseUrl()}/internal/events`, {
    method: 'POST',
    headers: { ...(await bearer(runnerId, token)), 'content-type': 'application/json' },
    body: JSON.stringify({ runner_id: runnerId, leases }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** The auth-state routes as `runnerId` (its own token unless another is given; null: none). */
export async function authState(runnerId: string, method: 'GET' | 'POST' | 'DELETE', pk: string, epoch: number, body?: object, token?: string | null) {
  const res = await fetch(`${baseUrl()}/internal/sessions/${pk}/auth${method === 'POST' ? '' : `?epoch=${epoch}`}`, {
    method,
    headers: { ...(await bearer(runnerId, token)), 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** GET a media send's file (`url` as the send command gave it) as `runnerId`, under `epoch`. */
export async function mediaFile(runnerId: string, url: string, epoch: number, token?: string | null) {
  const u = new URL(url);
  u.searchParams.set('epoch', String(epoch));
  return fetch(u, { headers: await bearer(runnerId, token) });
}

async function bearer(runnerId: string, token: string | null | undefined): Promise<Record<string, string>> {
  if (token === null) return {};
  return { authorization: `Bearer ${token ?? (await runnerToken(runnerId))}` };
}

export type { Command };

/**
 * A new connection of `tenant`, leased to `runner`, which reports it connected: the state in which a test
 * can watch exactly which commands a send becomes. Answers its pk and the lease's epoch.
 */
export async function connectedThrough(
  runner: ProtocolRunner,
  tenant: { tenantId: string; api: { post: (p: string, b?: unknown) => Promise<unknown>; get: (p: string) => Promise<{ status: number; body: any }> } },
  connectionId: string,
): Promise<{ pk: string; epoch: number }> {
  await tenant.api.post('/api/connections', { connection_id: connectionId });
  if ((await tenant.api.get(`/api/get-qr/${connectionId}?wait=0`)).status !== 200) throw new Error(`get-qr of ${connectionId} failed`);
  const pk = await connectionPk(connectionId, tenant.tenantId);
  const { epoch } = (await runner.waitFor((f) => f.type === 'lease.grant' && f.connection_pk === pk)) as Grant;
  const connected = { id: `cs:${randomUUID()}`, at: new Date().toISOString(), type: 'connection.status' as const, status: 'connected' as const, phone_number: '+15550001111' };
  await postEvents(runner.id, [{ connection_pk: pk, epoch, events: [connected] }]);
  await eventually(async () => (await tenant.api.get(`/api/connections/${connectionId}`)).body.status === 'connected', 'the connection to be connected');
  return { pk, epoch };
}

/**
 * A connection of `tenant` held by an older runner: a protocol runner whose hello claims only `features`
 * (none: protocol 1), answering every command with `result` and recording it in `commands`. For tests
 * that a newer feature is never asked of it. `close()` deletes the connection before the runner goes,
 * so a real runner started later never picks it up.
 */
export async function olderRunnerConnection(
  tenant: Parameters<typeof connectedThrough>[1] & { api: { delete: (p: string) => Promise<unknown> } },
  opts: { features?: string[]; result: CommandResult },
): Promise<{ id: string; commands: CommandFrame[]; close(): Promise<void> }> {
  const commands: CommandFrame[] = [];
  const runner = await ProtocolRunner.connect(`old-${randomUUID().slice(0, 6)}`, {
    ...(opts.features ? { features: opts.features } : {}),
    onCommand: (frame) => (commands.push(frame), { ok: true, result: opts.result }),
  });
  const id = `old-${randomUUID().slice(0, 8)}`;
  await connectedThrough(runner, tenant, id);
  return {
    id,
    commands,
    close: async () => {
      await tenant.api.delete(`/api/connections/${id}`);
      runner.close();
    },
  };
}
