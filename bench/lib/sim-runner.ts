// A runner reduced to its wire protocol, for measuring the control plane's side alone: it links to the
// Scheduler as a real runner does (its own credential, hello, heartbeats), takes every lease it is granted,
// reports each connection `connected` through /internal/events, hands leases back when revoked, and answers
// every command at once, as if WhatsApp took each message instantly. No Baileys, no emulator.
import WebSocket from 'ws';
import { ControlToRunner, RUNNER_PROTOCOL_VERSION, runnerFeatures, type RunnerEvent, type RunnerToControl } from '../../protocol/runner.js';

export class SimRunner {
  /** connection_pk → epoch of what this runner holds. */
  readonly leases = new Map<string, number>();
  grants = 0;
  commands = 0;
  private ws!: WebSocket;
  private heartbeat?: NodeJS.Timeout;
  private pendingStatus: Array<{ pk: string; epoch: number }> = [];
  private flushing?: Promise<void>;
  private listeners = new Set<() => void>();

  private constructor(readonly id: string, private readonly url: string, private readonly token: string, private readonly capacity: number) {}

  static async connect(url: string, id: string, token: string, capacity: number): Promise<SimRunner> {
    const r = new SimRunner(id, url, token, capacity);
    await r.open();
    return r;
  }

  private async open() {
    this.ws = new WebSocket(`${this.url.replace(/^http/, 'ws')}/internal/runners/connect?runner_id=${encodeURIComponent(this.id)}`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    await new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.ws.on('message', (data) => this.onFrame(String(data)));
    this.send({ type: 'hello', runner_id: this.id, protocol: RUNNER_PROTOCOL_VERSION, capacity: this.capacity, features: [...runnerFeatures], leases: [] });
    this.heartbeat = setInterval(() => this.send({ type: 'heartbeat', sessions: this.leases.size }), 1000);
  }

  /** Resolves once `test` holds (checked after every frame). */
  until(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => (this.listeners.delete(check), reject(new Error(`${this.id}: no ${what} within ${timeoutMs} ms`))), timeoutMs);
      const check = () => {
        if (!test()) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      this.listeners.add(check);
    });
  }

  /** The link dies without a goodbye (a crashed process, a cut network). */
  kill() {
    clearInterval(this.heartbeat);
    this.ws.terminate();
  }

  close() {
    clearInterval(this.heartbeat);
    this.ws.close();
  }

  private send(frame: RunnerToControl) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  private onFrame(text: string) {
    const frame = ControlToRunner.parse(JSON.parse(text));
    switch (frame.type) {
      case 'lease.grant':
        this.leases.set(frame.connection_pk, frame.epoch);
        this.grants++;
        this.pendingStatus.push({ pk: frame.connection_pk, epoch: frame.epoch });
        void this.flushStatuses();
        break;
      case 'lease.revoke':
        this.leases.delete(frame.connection_pk);
        this.send({ type: 'lease.released', connection_pk: frame.connection_pk, epoch: frame.epoch });
        break;
      case 'command':
        this.commands++;
        this.send({
          type: 'reply',
          request_id: frame.request_id,
          ok: true,
          result: frame.command.name === 'send' ? { provider_message_id: frame.command.message_id, timestamp: new Date().toISOString() } : {},
          elapsed_ms: 0,
        });
        break;
      case 'welcome':
        break;
    }
    for (const l of [...this.listeners]) l();
  }

  /** Each granted connection reported `connected`, in batches, as a runner's outbox posts them. */
  private flushStatuses(): Promise<void> {
    return (this.flushing ??= (async () => {
      await new Promise((r) => setTimeout(r, 20));
      while (this.pendingStatus.length) {
        const batch = this.pendingStatus.splice(0, 500);
        const at = new Date().toISOString();
        const leases = batch.map(({ pk, epoch }) => ({
          connection_pk: pk,
          epoch,
          events: [{ id: `cs:${pk}:${epoch}`, at, type: 'connection.status', status: 'connected', phone_number: '+15550000000' } satisfies RunnerEvent],
        }));
        const res = await fetch(`${this.url}/internal/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ runner_id: this.id, leases }),
        });
        if (!res.ok) throw new Error(`${this.id}: /internal/events answered ${res.status}: ${await res.text()}`);
      }
    })().finally(() => (this.flushing = undefined)));
  }
}
