// Lease lifecycle: which connections this runner holds, under which epoch, and what happens on grant,
// revoke, command, lost lease and drain. One record per connection_pk; the WhatsApp socket lives in
// whatsapp.ts, its auth state in auth-state.ts, its events leave through the outbox.
import { fetchStoredPoll } from './message-changes.js';
import { fetchCallPolicy } from './calls.js';
import type { Logger } from 'pino';
import type { CommandResult, ControlToRunner, RunnerEvent, RunnerToControl } from '../protocol/runner.js';
import { RemoteAuthState, StaleEpochError } from './auth-state.js';
import { Semaphore, backoffMs, sleep, within } from './backoff.js';
import type { RunnerMetrics } from './metrics.js';
import type { Outbox } from './outbox.js';
import { runGroupAction } from './group-actions.js';
import { RegisteredNumbers } from './registered-numbers.js';
import type { IncomingMedia } from './media-in.js';
import { runChatAction } from './chat-actions.js';
import { CommandError, WhatsAppSession, type WhatsAppSessionOptions } from './whatsapp.js';
import { connectionStatusEvent } from './whatsapp-events.js';

type Grant = Extract<ControlToRunner, { type: 'lease.grant' }>;
type Revoke = Extract<ControlToRunner, { type: 'lease.revoke' }>;
type CommandFrame = Extract<ControlToRunner, { type: 'command' }>;
type Reply = Extract<RunnerToControl, { type: 'reply' }>;

export type SessionsOptions = {
  controlPlaneUrl: string;
  token: string;
  runnerId: string;
  outbox: Outbox;
  /** Sends a frame on the link (dropped while the link is down). */
  send: (frame: RunnerToControl) => void;
  logger: Logger;
  metrics?: RunnerMetrics;
  waWebSocketUrl?: string;
  /** Downloads media sends' files (media-source.ts), as the holder of the lease at `epoch`. */
  fetchMedia?: (url: string, epoch: number) => Promise<Buffer>;
  /** Received media files, downloaded and handed to the control plane (media-in.ts). */
  incomingMedia?: IncomingMedia;
  /** Set when WA_MEDIA_CA is: Baileys' media traffic trusts the emulator's media CA. */
  mediaTrust?: WhatsAppSessionOptions['mediaTrust'];
  maxConcurrentLogins?: number;
  /** Ask WhatsApp which account a number reaches before sending (default true; registered-numbers.ts). */
  numberLookup?: boolean;
  authFlushIntervalMs?: number;
  authSnapshotEvery?: number;
  /** How long a stop waits for its auth state and events to reach the control plane. */
  stopFlushTimeoutMs?: number;
  /** Overrides for the Baileys adapter (tests: faster reconnects, shorter QR lifetime). */
  whatsapp?: Partial<Pick<WhatsAppSessionOptions, 'reconnectBaseMs' | 'reconnectCapMs' | 'qrTimeoutMs' | 'connectTimeoutMs' | 'deferReceipts' | 'sendPacing'>>;
};

type Lease = {
  pk: string;
  tenantId: string;
  connectionId: string;
  epoch: number;
  auth?: RemoteAuthState;
  wa?: WhatsAppSession;
  /** Settles once auth state is loaded and the socket was asked to open (or the start gave up). */
  started: Promise<void>;
  stopping?: Promise<void>;
  lost: boolean;
};

export class Sessions {
  private leases = new Map<string, Lease>();
  private readonly logins: Semaphore;
  /** Which account each number reaches, learnt by any session of this runner (unset: NUMBER_LOOKUP=false). */
  private readonly numbers: RegisteredNumbers | undefined;
  /** Auth-state loads in flight: a restore of hundreds of leases must not hit the control plane all at once. */
  private readonly authLoads: Semaphore;
  private draining = false;
  private emptyWaiters: Array<() => void> = [];

  constructor(private readonly opts: SessionsOptions) {
    this.logins = new Semaphore(opts.maxConcurrentLogins ?? 8);
    this.authLoads = new Semaphore(2 * (opts.maxConcurrentLogins ?? 8));
    this.numbers = opts.numberLookup === false ? undefined : new RegisteredNumbers();
    if (opts.metrics) opts.metrics.sessionSource.count = () => this.countByState();
  }

  get size(): number {
    return this.leases.size;
  }

  /** What `hello` announces: the leases this runner still runs. */
  held(): Array<{ connection_pk: string; epoch: number }> {
    return [...this.leases.values()].filter(l => !l.stopping && !l.lost).map(l => ({ connection_pk: l.pk, epoch: l.epoch }));
  }

  stateOf(pk: string): string | undefined {
    const l = this.leases.get(pk);
    return l ? (l.stopping ? 'stopping' : (l.wa?.state ?? 'loading')) : undefined;
  }

  countByState(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const l of this.leases.values()) {
      const s = this.stateOf(l.pk)!;
      out[s] = (out[s] ?? 0) + 1;
    }
    return out;
  }

  grant(g: Grant): void {
    const existing = this.leases.get(g.connection_pk);
    if (existing && !existing.stopping && !existing.lost) {
      if (g.epoch <= existing.epoch) return; // a repeated grant (e.g. after hello): nothing to do
      // Same runner, newer epoch (the control plane restarted or re-placed it here): adopt the epoch.
      this.opts.logger.info({ connection_pk: g.connection_pk, from: existing.epoch, to: g.epoch }, 'lease: adopting newer epoch');
      existing.epoch = g.epoch;
      if (existing.auth && !existing.auth.stale) {
        existing.auth.epoch = g.epoch;
        return;
      }
      // Its auth state was fenced off under the old epoch: start over from the stored state.
      void this.stopLease(existing, { flush: false }).then(() => this.grant(g));
      return;
    }
    if (existing) {
      // Still stopping (or lost): start anew once that is done.
      void (existing.stopping ?? Promise.resolve()).then(() => this.grant(g));
      return;
    }
    const lease: Lease = { pk: g.connection_pk, tenantId: g.tenant_id, connectionId: g.connection_id, epoch: g.epoch, started: Promise.resolve(), lost: false };
    this.leases.set(lease.pk, lease);
    lease.started = this.startLease(lease);
  }

  async revoke(r: Revoke): Promise<void> {
    const lease = this.leases.get(r.connection_pk);
    if (!lease || r.epoch < lease.epoch) {
      // Not ours (any more), or a revoke of an epoch we already left behind: nothing runs under it.
      this.opts.send({ type: 'lease.released', connection_pk: r.connection_pk, epoch: r.epoch });
      return;
    }
    await this.stopLease(lease, { flush: true });
  }

  /** The control plane refused this lease (stale epoch / unknown connection): stop without writing more. */
  leaseLost(pk: string, epoch: number): void {
    const lease = this.leases.get(pk);
    if (!lease || lease.epoch > epoch || lease.stopping) return;
    this.opts.logger.warn({ connection_pk: pk, epoch }, 'lease lost: stopping session');
    lease.lost = true;
    this.opts.outbox.drop(pk);
    void this.stopLease(lease, { flush: false });
  }

  async command(frame: CommandFrame): Promise<Reply> {
    const reply = (ok: boolean, result?: CommandResult, error?: Reply['error']): Reply => ({
      type: 'reply',
      request_id: frame.request_id,
      ok,
      ...(result ? { result } : {}),
      ...(error ? { error } : {}),
    });
    const lease = this.leases.get(frame.connection_pk);
    if (!lease || lease.epoch !== frame.epoch || lease.stopping || lease.lost) {
      return reply(false, undefined, { code: 'not_holding_lease', message: `this runner does not hold ${frame.connection_pk} at epoch ${frame.epoch}` });
    }
    try {
      if ((await within(lease.started.then(() => 'ok' as const), 15_000, 'timeout' as const)) === 'timeout' || !lease.wa) {
        return reply(false, undefined, { code: 'not_connected', message: 'session is still starting' });
      }
      const wa = lease.wa;
      const c = frame.command;
      switch (c.name) {
        case 'send':
          return reply(true, await wa.send(c.to, c.text, c.message_id, c.media, { timeoutMs: frame.timeout_ms, content: c.content, quoted: c.quoted, mentions: c.mentions, link_preview: c.link_preview }));
        case 'pairing-code':
          return reply(true, { code: await wa.pairingCode(c.phone_number) });
        case 'logout':
          await wa.logout();
          return reply(true, {});
        case 'restart':
          await wa.restart();
          return reply(true, {});
        case 'edit':
        case 'revoke':
          return reply(true, await wa.messageAction(c));
        case 'group':
          return reply(true, { group: await runGroupAction(wa.groupContext(), c.action) });
        case 'profile-picture':
          return reply(true, { picture: { url: await wa.profilePicture(c.jid) } });
        case 'read':
        case 'presence':
        case 'check-numbers':
          return reply(true, await runChatAction(wa.openSocket(), wa.registeredNumbers, c));
      }
    } catch (err) {
      if (err instanceof CommandError) {
        return reply(false, undefined, { code: err.code, message: err.message, ...(err.retryAfterMs === undefined ? {} : { retry_after_ms: Math.ceil(err.retryAfterMs) }) });
      }
      this.opts.logger.error({ err, connection_pk: frame.connection_pk, command: frame.command.name }, 'command failed');
      return reply(false, undefined, { code: 'internal', message: (err as Error).message });
    }
  }

  /**
   * SIGTERM: announce `draining`, release each lease as the control plane revokes it, and after
   * `deadlineMs` stop whatever is left, flushing auth state and events first.
   */
  async drain(deadlineMs: number): Promise<void> {
    this.draining = true;
    this.opts.send({ type: 'draining' });
    if (this.leases.size) {
      await within(new Promise<void>(resolve => this.emptyWaiters.push(resolve)), deadlineMs, undefined);
    }
    await this.stopAll();
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Stops every session, flushing auth state and events (bounded), and releases each lease. */
  /**
   * After the control-plane link (re)opens: reports every open session as connected again. While the
   * link was down the Scheduler announced these connections unreachable; this later report puts them back.
   */
  reannounce(): void {
    for (const lease of this.leases.values()) {
      const wa = lease.wa;
      if (wa?.state === 'open') this.emit(lease, [connectionStatusEvent('connected', { phone_number: wa.phoneNumber })]);
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.leases.values()].map(l => this.stopLease(l, { flush: !l.lost })));
  }

  private emit(lease: Lease, events: RunnerEvent[], whenStored?: ReadonlyMap<string, () => void>): void {
    // A lost lease's receipts stay unsent: WhatsApp delivers those messages to the new holder instead.
    if (lease.lost) return;
    this.opts.outbox.push(lease.pk, lease.epoch, events, whenStored);
  }

  private async startLease(lease: Lease): Promise<void> {
    const log = this.opts.logger.child({ connection_pk: lease.pk, connection_id: lease.connectionId });
    for (let attempt = 0; ; attempt++) {
      if (lease.stopping || lease.lost) return;
      const loadSlot = await this.authLoads.acquire();
      try {
        lease.auth = await RemoteAuthState.load({
          controlPlaneUrl: this.opts.controlPlaneUrl,
          token: this.opts.token,
          runnerId: this.opts.runnerId,
          connectionPk: lease.pk,
          epoch: lease.epoch,
          flushIntervalMs: this.opts.authFlushIntervalMs,
          snapshotEvery: this.opts.authSnapshotEvery,
          logger: log,
          metrics: this.opts.metrics,
          onStale: () => this.leaseLost(lease.pk, lease.epoch),
        });
        break;
      } catch (err) {
        loadSlot();
        if (err instanceof StaleEpochError) return this.leaseLost(lease.pk, lease.epoch);
        log.warn({ err: (err as Error).message, attempt }, 'auth state load failed, retrying');
        await sleep(backoffMs(attempt, 500, 30_000) + 50);
      } finally {
        loadSlot();
      }
    }
    if (lease.stopping || lease.lost) {
      lease.auth.close();
      return;
    }
    log.info({ epoch: lease.epoch, restored: lease.auth.restored }, 'lease: starting session');
    lease.wa = new WhatsAppSession({
      connectionPk: lease.pk,
      auth: lease.auth,
      emit: (events, whenStored) => this.emit(lease, events, whenStored),
      logger: log,
      metrics: this.opts.metrics,
      waWebSocketUrl: this.opts.waWebSocketUrl,
      fetchMedia: this.opts.fetchMedia && (url => this.opts.fetchMedia!(url, lease.epoch)),
      mediaTrust: this.opts.mediaTrust,
      ...(this.opts.incomingMedia ? { receiveMedia: (msg, sock) => this.opts.incomingMedia!.receive(msg, sock, { pk: lease.pk, epoch: lease.epoch }) } : {}),
      numbers: this.numbers,
      loginSlot: () => this.logins.acquire(),
      storedPoll: (chatId, pollId) =>
        fetchStoredPoll(
          { controlPlaneUrl: this.opts.controlPlaneUrl, token: this.opts.token, connectionPk: lease.pk, epoch: lease.epoch, ownJid: () => lease.auth?.state.creds.me?.id ?? null },
          chatId,
          pollId,
        ),
      callPolicy: () => fetchCallPolicy({ controlPlaneUrl: this.opts.controlPlaneUrl, token: this.opts.token, connectionPk: lease.pk, epoch: lease.epoch }),
      ...this.opts.whatsapp,
    });
    // The socket opens in the background (through the login semaphore); commands wait only for this.
    void lease.wa.start().catch(err => log.error({ err }, 'session start failed'));
  }

  private stopLease(lease: Lease, { flush }: { flush: boolean }): Promise<void> {
    if (lease.stopping) return lease.stopping;
    lease.stopping = (async () => {
      const timeout = this.opts.stopFlushTimeoutMs ?? 10_000;
      // Close the socket first, so no key changes or events come after the flush.
      await within(lease.started, timeout, undefined);
      await lease.wa?.stop().catch(() => undefined);
      if (flush && lease.auth && !lease.auth.stale) {
        await within(lease.auth.flush().catch(err => this.opts.logger.warn({ err: (err as Error).message, connection_pk: lease.pk }, 'final auth flush failed')), timeout, undefined);
      }
      lease.auth?.close();
      if (flush) await within(this.opts.outbox.flush(lease.pk), timeout, undefined);
      else this.opts.outbox.drop(lease.pk);
      if (this.leases.get(lease.pk) === lease) this.leases.delete(lease.pk);
      this.opts.send({ type: 'lease.released', connection_pk: lease.pk, epoch: lease.epoch });
      this.opts.logger.info({ connection_pk: lease.pk, epoch: lease.epoch, flushed: flush }, 'lease released');
      if (this.leases.size === 0) for (const w of this.emptyWaiters.splice(0)) w();
    })();
    return lease.stopping;
  }
}
