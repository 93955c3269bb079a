// The control-plane link: one outbound WebSocket, re-dialled forever with exponential backoff and full
// jitter. Every (re)connect starts with `hello` (with the leases still held); `welcome` sets the heartbeat
// interval. Every frame in either direction is validated against protocol/runner.ts.
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { ControlToRunner, RUNNER_PROTOCOL_VERSION, RunnerToControl, runnerFeatures } from '../protocol/runner.js';
import { backoffMs } from './backoff.js';
import { clock } from './clock.js';
import type { RunnerMetrics } from './metrics.js';

export type LinkOptions = {
  url: string;
  token: string;
  runnerId: string;
  capacity: number;
  logger: Logger;
  metrics?: RunnerMetrics;
  /** Which Scheduler shard this link reaches (protocol/shards.ts; 0 without sharding). */
  shard?: number;
  /** Leases to announce in `hello`. */
  held: () => Array<{ connection_pk: string; epoch: number }>;
  sessions: () => number;
  onFrame: (frame: ControlToRunner) => void;
  /** The control plane's welcome, after the link has taken its heartbeat interval from it. */
  onWelcome?: (frame: Welcome) => void;
  onUp?: () => void;
  backoffBaseMs?: number;
  backoffCapMs?: number;
};

type Welcome = Extract<ControlToRunner, { type: 'welcome' }>;

export class Link {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private welcomed = false;
  private closed = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private alive = true;
  /** When the last hello left (local clock): with the welcome's server_time it gives the clock offset. */
  private helloSentAt = 0;
  /** lease.released frames are facts the control plane must learn even if the link was down. */
  private unsentReleases: RunnerToControl[] = [];

  constructor(private readonly opts: LinkOptions) {}

  /** Up once the control plane answered `hello` with `welcome`. */
  get up(): boolean {
    return this.welcomed && this.ws?.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.dial();
  }

  send(frame: RunnerToControl): boolean {
    const checked = RunnerToControl.safeParse(frame);
    if (!checked.success) {
      this.opts.logger.error({ type: frame.type, issues: checked.error.issues }, 'link: refusing to send an invalid frame');
      return false;
    }
    if (this.ws?.readyState !== WebSocket.OPEN || (!this.welcomed && frame.type !== 'hello')) {
      if (frame.type === 'lease.released') this.unsentReleases.push(frame);
      return false;
    }
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    clearInterval(this.heartbeat);
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>(resolve => {
      const timer = setTimeout(() => (ws.terminate(), resolve()), 2000);
      ws.once('close', () => (clearTimeout(timer), resolve()));
      ws.close(1000, 'runner stopping');
    });
  }

  private dial(): void {
    if (this.closed) return;
    const ws = new WebSocket(this.opts.url, { headers: { authorization: `Bearer ${this.opts.token}` }, handshakeTimeout: 15_000 });
    this.ws = ws;
    this.welcomed = false;
    ws.on('open', () => {
      this.alive = true;
      this.opts.logger.info({ url: this.opts.url, shard: this.opts.shard ?? 0 }, 'link: connected, saying hello');
      this.helloSentAt = Date.now();
      this.send({ type: 'hello', runner_id: this.opts.runnerId, protocol: RUNNER_PROTOCOL_VERSION, features: [...runnerFeatures], capacity: this.opts.capacity, leases: this.opts.held() });
    });
    ws.on('pong', () => (this.alive = true));
    ws.on('message', (data, isBinary) => {
      this.alive = true;
      if (isBinary) return;
      let json: unknown;
      try {
        json = JSON.parse(data.toString());
      } catch {
        this.opts.logger.warn('link: non-JSON frame ignored');
        return;
      }
      const parsed = ControlToRunner.safeParse(json);
      if (!parsed.success) {
        this.opts.logger.warn({ issues: parsed.error.issues.slice(0, 3) }, 'link: invalid frame ignored');
        return;
      }
      if (parsed.data.type === 'welcome') {
        if (parsed.data.server_time !== undefined) clock.sync(parsed.data.server_time, this.helloSentAt, Date.now());
        this.welcome(parsed.data.heartbeat_interval_ms);
        return this.opts.onWelcome?.(parsed.data);
      }
      this.opts.onFrame(parsed.data);
    });
    ws.on('unexpected-response', (_req, res) => {
      this.opts.logger.warn({ status: res.statusCode }, 'link: control plane refused the connection');
      res.resume();
    });
    ws.on('error', err => this.opts.logger.warn({ err: err.message }, 'link: socket error'));
    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      const wasUp = this.welcomed;
      this.welcomed = false;
      clearInterval(this.heartbeat);
      this.opts.metrics?.linkUp.set({ shard: String(this.opts.shard ?? 0) }, 0);
      if (this.closed) return;
      if (wasUp) this.attempt = 0;
      const delay = backoffMs(this.attempt++, this.opts.backoffBaseMs ?? 500, this.opts.backoffCapMs ?? 30_000) + 50;
      this.opts.metrics?.reconnects.inc({ kind: 'link' });
      this.opts.logger.warn({ code, reason: reason.toString(), retry_in_ms: delay }, 'link: closed, reconnecting');
      this.retry = setTimeout(() => this.dial(), delay);
    });
  }

  private welcome(intervalMs: number): void {
    this.welcomed = true;
    this.attempt = 0;
    this.opts.metrics?.linkUp.set({ shard: String(this.opts.shard ?? 0) }, 1);
    this.opts.logger.info({ heartbeat_interval_ms: intervalMs, shard: this.opts.shard ?? 0 }, 'link: welcomed');
    for (const frame of this.unsentReleases.splice(0)) this.send(frame);
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) return;
      // No frame or pong for a whole interval: the link is dead even if TCP has not noticed.
      if (!this.alive) {
        this.opts.logger.warn('link: no answer from the control plane, dropping the link');
        ws.terminate();
        return;
      }
      this.alive = false;
      ws.ping();
      this.send({ type: 'heartbeat', sessions: this.opts.sessions() });
    }, intervalMs);
    this.opts.onUp?.();
  }
}
