// A runner reduced to its wire protocol (protocol/runner.ts): it links to the real control plane, records
// what the Scheduler tells it, and lets a test answer commands and post events by hand. Used to test the
// control plane's side of fencing, placement and command routing exactly, including misbehaving runners.
import WebSocket from 'ws';
import { inject } from 'vitest';
import { ControlToRunner, type Command, type CommandResult, type RunnerEvent, type RunnerToControl } from '../../protocol/runner';
import { baseUrl } from './api';

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
  /** Defaults to the real runner token. */
  token?: string;
}

export class ProtocolRunner {
  readonly frames: ControlToRunner[] = [];
  private ws!: WebSocket;
  private heartbeat?: ReturnType<typeof setInterval>;
  private waiters: (() => void)[] = [];

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
    const url = `${baseUrl().replace(/^http/, 'ws')}/internal/runners/connect?runner_id=${encodeURIComponent(this.id)}`;
    this.ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.opts.token ?? inject('runnerToken')}` } });
    await new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`link refused: ${res.statusCode}`)));
    });
    this.ws.on('message', (data) => this.receive(String(data)));
    this.send({ type: 'hello', runner_id: this.id, protocol: 1, capacity: this.opts.capacity ?? 10, leases: this.opts.claims ?? [] });
    await this.waitFor((f) => f.type === 'welcome');
  }

  private receive(text: string) {
    const frame = ControlToRunner.parse(JSON.parse(text));
    this.frames.push(frame);
    if (frame.type === 'welcome' && this.opts.heartbeat !== false) {
      this.heartbeat = setInterval(() => this.send({ type: 'heartbeat', sessions: this.held().length }), frame.heartbeat_interval_ms);
    }
    if (frame.type === 'command' && this.opts.onCommand) {
      const answer = this.opts.onCommand(frame);
      if (answer?.ok) this.send({ type: 'reply', request_id: frame.request_id, ok: true, result: answer.result });
      else if (answer) {
        this.send({ type: 'reply', request_id: frame.request_id, ok: false, error: { code: answer.code as never, message: answer.message } });
      }
    }
    for (const w of this.waiters.splice(0)) w();
  }

  send(frame: RunnerToControl) {
    this.ws.send(JSON.stringify(frame));
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
    clearInterval(this.heartbeat);
    this.ws.terminate();
  }

  close() {
    clearInterval(this.heartbeat);
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close();
  }
}

export async function postEvents(runnerId: string, leases: { connection_pk: string; epoch: number; events: RunnerEvent[] }[], token = inject('runnerToken')) {
  const res = await fetch(`${baseUrl()}/internal/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ runner_id: runnerId, leases }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

export async function authState(method: 'GET' | 'POST' | 'DELETE', pk: string, epoch: number, body?: object) {
  const res = await fetch(`${baseUrl()}/internal/sessions/${pk}/auth${method === 'POST' ? '' : `?epoch=${epoch}`}`, {
    method,
    headers: { authorization: `Bearer ${inject('runnerToken')}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

export type { Command };
