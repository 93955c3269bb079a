// Scheduler Durable Object: the single authority on which runner holds which WhatsApp connection.
//
// Runners keep a hibernatable WebSocket to it (tag = runner id). It grants each connection that should
// run to the least-loaded live runner under a new epoch (mirrored to Postgres, where the runner-facing
// routes check it: fencing), moves leases off runners that vanished (after a grace period) or drain
// (one at a time, the new grant only after the old holder released or its revoke timed out), and routes
// commands (send, pairing code, logout, restart) to the holder, resolving them by request id.
import { DurableObject } from 'cloudflare:workers';
import { ControlToRunner, RunnerToControl, featureNeededBy, type Command, type CommandResult, type QueuedEvent } from '../../protocol/runner';
import { httpDb } from '../data/db';
import type { Env } from '../env';
import { hashRunnerToken, runnerIdOfToken } from '../../protocol/runner-token';
import { timingSafeEqual } from '../auth/credentials';
import { activeCredentials, Budget, type ClaimAnswer, type RunnerAuthorization } from './credentials';
import { desiredConnections, recordLeases, type LeaseRecord } from './desired';
import { pickRunner } from './placement';
import { Registry } from './registry';
import { SendBudgets } from '../limits/send-budget';
import { sendQuotaSpent, type Admission } from './admission';
import { shardCount, shardOf } from '../../protocol/shards';
import type { LeaseRow } from './types';

export type CommandOutcome = (
  | { ok: true; result: CommandResult }
  | { ok: false; error: { code: string; message: string } }
) & {
  /** The runner's own share of the round trip, when it reported one. */
  runnerMs?: number;
  /** With a refusal that clears with time (`send_quota_exceeded`, `send_queue_full`): when to try again. */
  retryAfterSeconds?: number;
};

interface Attachment {
  runnerId: string;
  /** The credential the link was opened with: the link is closed once that credential is revoked. */
  credentialId?: string;
  /** What the runner said it understands in its hello (protocol/runner.ts runnerFeatures). */
  features?: string[];
}

/** Close code of a link whose credential was revoked (the runner must be given a new token). */
const CLOSE_CREDENTIAL_REVOKED = 4003;

const encoder = new TextEncoder();

interface Pending {
  resolve: (outcome: CommandOutcome) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** runner_id on events the Scheduler itself reports. */
const SCHEDULER_SOURCE = 'scheduler';

const num = (v: string | undefined, fallback: number) => (v && Number.isFinite(Number(v)) ? Number(v) : fallback);

export class Scheduler extends DurableObject<Env> {
  private readonly registry: Registry;
  private readonly pending = new Map<string, Pending>();
  private readonly sendBudgets = new SendBudgets();
  private reconciling = false;
  private reconcileAgain = false;
  /** Postgres look-ups for tokens not in the mirror (credentials.ts): a few a second at most. */
  private readonly lookups = new Budget(5, 20);

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.registry = new Registry(ctx.storage.sql);
  }

  private get config() {
    return {
      graceMs: num(this.env.SCHEDULER_GRACE_MS, 15_000),
      reconcileMs: num(this.env.SCHEDULER_RECONCILE_MS, 5_000),
      heartbeatMs: num(this.env.RUNNER_HEARTBEAT_MS, 10_000),
      revokeTimeoutMs: num(this.env.SCHEDULER_REVOKE_TIMEOUT_MS, 30_000),
    };
  }

  // Link ---------------------------------------------------------------------------------------------

  /**
   * Accepts a runner's WebSocket. The Worker has checked that the token names the runner id asked for;
   * here the token itself is verified (credentials.ts), so that a runner id is only ever linked by its own.
   */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const runnerId = url.searchParams.get('runner_id');
    await this.learnShard(Number(url.searchParams.get('shard') ?? '0'));
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket' || !runnerId) {
      return new Response('expected a runner WebSocket', { status: 400 });
    }
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
    if (!token || runnerIdOfToken(token) !== runnerId) {
      return Response.json({ error: { code: 'runner_id_mismatch', message: 'The runner token does not name this runner id.' } }, { status: 403 });
    }
    const credentialId = await this.authenticate(runnerId, await hashRunnerToken(token));
    if (!credentialId) return Response.json({ error: { code: 'unauthorized', message: 'Unknown or revoked runner token.' } }, { status: 401 });
    // A reconnecting runner replaces its previous link.
    for (const old of this.ctx.getWebSockets(runnerId)) old.close(4000, 'replaced by a newer link');
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [runnerId]);
    server.serializeAttachment({ runnerId, credentialId } satisfies Attachment);
    this.log('info', 'runner link opened', { runnerId, credentialId });
    return new Response(null, { status: 101, webSocket: client });
  }

  // Credentials ---------------------------------------------------------------------------------------

  /** The id of the unrevoked credential of `runnerId` whose token hashes to `tokenHash`, if any. */
  private async authenticate(runnerId: string, tokenHash: string): Promise<string | undefined> {
    const given = encoder.encode(tokenHash);
    const match = (rows: { credential_id: string; runner_id: string; token_hash: string }[]) =>
      rows.find((r) => r.runner_id === runnerId && timingSafeEqual(encoder.encode(r.token_hash), given))?.credential_id;
    const mirrored = match(this.registry.credentialsOf(runnerId));
    if (mirrored) return mirrored;
    // Not mirrored: issued since the last sync, or no valid token at all. Postgres decides, within budget.
    if (!this.lookups.take(Date.now())) return undefined;
    try {
      const rows = await activeCredentials(httpDb(this.env), runnerId);
      this.ctx.storage.transactionSync(() => this.registry.replaceRunnerCredentials(runnerId, rows, Date.now()));
      this.closeRevokedLinks();
      return match(rows);
    } catch (e) {
      this.log('warn', 'cannot look a runner token up in Postgres', { runnerId, error: String(e).slice(0, 300) });
      return undefined;
    }
  }

  /** Mirrors the unrevoked credentials from Postgres and closes links whose credential is gone. */
  private async syncCredentials(): Promise<void> {
    let rows;
    const readSince = Date.now();
    try {
      rows = await activeCredentials(httpDb(this.env));
    } catch (e) {
      // Postgres down: the last mirror stands (intake keeps working), and no revocation can be written anyway.
      this.log('warn', 'cannot read runner credentials from Postgres; keeping the last known ones', { error: String(e).slice(0, 300) });
      return;
    }
    this.ctx.storage.transactionSync(() => this.registry.replaceAllCredentials(rows, readSince, Date.now()));
    this.closeRevokedLinks();
  }

  private closeRevokedLinks() {
    const valid = this.registry.credentialIds();
    for (const ws of this.ctx.getWebSockets()) {
      const { runnerId, credentialId } = ws.deserializeAttachment() as Attachment;
      if (credentialId && valid.has(credentialId)) continue;
      this.log('warn', 'closing the link of a revoked runner credential', { runnerId, credentialId: credentialId ?? null });
      try {
        ws.close(CLOSE_CREDENTIAL_REVOKED, 'runner credential revoked');
      } catch {
        // already closing
      }
    }
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const { runnerId } = ws.deserializeAttachment() as Attachment;
    let frame: RunnerToControl;
    try {
      frame = RunnerToControl.parse(JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data)));
    } catch (e) {
      this.log('warn', 'bad frame from runner', { runnerId, error: String(e).slice(0, 300) });
      return;
    }
    const now = Date.now();
    switch (frame.type) {
      case 'hello': {
        // A runner links to every shard: each counts its share of the runner's room.
        const shards = this.shards;
        this.registry.runnerConnected(runnerId, Math.ceil(frame.capacity / shards), now);
        ws.serializeAttachment({ ...(ws.deserializeAttachment() as Attachment), features: frame.features ?? [] } satisfies Attachment);
        // Claims to another shard's connections are that shard's to judge.
        const shard = await this.shard();
        const claimed = new Map(frame.leases.filter((l) => shardOf(l.connection_pk, shards) === shard).map((l) => [l.connection_pk, l.epoch]));
        // Leases we think it holds but it no longer runs (it restarted): free them for a fresh grant.
        for (const lease of this.registry.leasesOf(runnerId)) {
          if (claimed.get(lease.connection_pk) !== lease.epoch) this.registry.release(lease.connection_pk);
        }
        // Sessions it still runs that are no longer its own: it must stop them.
        for (const [pk, epoch] of claimed) {
          const lease = this.registry.lease(pk);
          if (!lease || lease.runner_id !== runnerId || lease.epoch !== epoch) {
            this.send(ws, { type: 'lease.revoke', connection_pk: pk, epoch, reason: 'stale' });
          }
        }
        this.send(ws, { type: 'welcome', runner_id: runnerId, heartbeat_interval_ms: this.config.heartbeatMs, server_time: Date.now(), shards, shard });
        this.log('info', 'runner connected', { runnerId, capacity: frame.capacity, claimed: claimed.size });
        await this.soon();
        return;
      }
      case 'heartbeat':
        this.registry.runnerSeen(runnerId, now);
        return;
      case 'lease.released': {
        const lease = this.registry.lease(frame.connection_pk);
        if (lease && lease.runner_id === runnerId && lease.epoch === frame.epoch) {
          this.registry.release(frame.connection_pk, frame.epoch);
          this.log('info', 'lease released', { runnerId, connectionPk: frame.connection_pk, epoch: frame.epoch });
          await this.soon();
        }
        return;
      }
      case 'draining':
        this.registry.runnerDraining(runnerId);
        this.log('info', 'runner draining', { runnerId });
        await this.soon();
        return;
      case 'reply': {
        const pending = this.pending.get(frame.request_id);
        if (!pending) return;
        this.pending.delete(frame.request_id);
        clearTimeout(pending.timer);
        const runnerMs = frame.elapsed_ms === undefined ? {} : { runnerMs: frame.elapsed_ms };
        const retry = frame.error?.retry_after_ms === undefined ? {} : { retryAfterSeconds: Math.max(1, Math.ceil(frame.error.retry_after_ms / 1000)) };
        pending.resolve(
          frame.ok
            ? { ok: true, result: frame.result ?? {}, ...runnerMs }
            : { ok: false, error: frame.error ?? { code: 'internal', message: 'the runner gave no reason' }, ...runnerMs, ...retry },
        );
        return;
      }
    }
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    await this.linkLost(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.linkLost(ws);
  }

  private async linkLost(ws: WebSocket) {
    const { runnerId } = ws.deserializeAttachment() as Attachment;
    if (this.ctx.getWebSockets(runnerId).some((other) => other !== ws && other.readyState === WebSocket.OPEN)) return;
    const now = Date.now();
    this.registry.runnerDisconnected(runnerId, now);
    this.log('warn', 'runner link lost', { runnerId });
    await this.ctx.storage.setAlarm(now + this.config.graceMs);
    await this.announceUnreachable(this.registry.leasesOf(runnerId), now);
  }

  /**
   * Tells the API (through the events pipeline, like any status change) that these connections are not
   * reachable right now, so that none reads `connected` while its runner is gone. The runner that takes
   * over (or the same one, if its link comes back) reports `connected` again, later in time.
   */
  private async announceUnreachable(leases: LeaseRow[], now: number) {
    const at = new Date(now).toISOString();
    const queued = leases.map((l) => ({
      body: {
        connection_pk: l.connection_pk,
        tenant_id: l.tenant_id,
        epoch: l.epoch,
        runner_id: SCHEDULER_SOURCE,
        event: { id: `unreachable:${l.connection_pk}:${l.epoch}:${now}`, at, type: 'connection.status', status: 'connecting', reason: 'runner_unreachable' },
      } satisfies QueuedEvent,
      contentType: 'json' as const,
    }));
    try {
      for (let i = 0; i < queued.length; i += 100) await this.env.EVENTS.sendBatch(queued.slice(i, i + 100));
    } catch (e) {
      // Best effort: the status is corrected by the next runner's own report either way.
      this.log('warn', 'could not announce unreachable connections', { count: queued.length, error: String(e) });
    }
  }

  // RPC from the Worker ------------------------------------------------------------------------------

  /** Re-evaluate placements now (a connection of shard `shard` was created, deleted, asked to start…). */
  async poke(shard = 0): Promise<void> {
    await this.learnShard(shard);
    await this.soon();
  }

  /** Sends a command to the runner holding the connection and waits for its reply. */
  async command(connectionPk: string, command: Command, timeoutMs = 20_000, admission?: Admission): Promise<CommandOutcome> {
    const lease = this.registry.lease(connectionPk);
    const ws = lease?.runner_id && lease.state === 'active' ? this.socketOf(lease.runner_id) : undefined;
    if (!lease || !ws) return { ok: false, error: { code: 'no_runner', message: 'No runner holds this connection right now.' } };
    // An older runner would drop what it does not know and send something else: it is not asked at all.
    const needed = featureNeededBy(command);
    if (needed && !((ws.deserializeAttachment() as Attachment).features ?? []).includes(needed)) {
      return { ok: false, error: { code: 'runner_outdated', message: `The runner holding this connection is too old for this message (it lacks "${needed}").` } };
    }
    if (command.name === 'send' && admission?.sendsPerMinute !== undefined) {
      const budget = this.sendBudgets.take(lease.tenant_id, admission.sendsPerMinute);
      if (!budget.allowed) return sendQuotaSpent(admission.sendsPerMinute, budget.retryAfterSeconds);
    }
    const requestId = crypto.randomUUID();
    return new Promise<CommandOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        resolve({ ok: false, error: { code: 'timeout', message: `The runner did not answer within ${timeoutMs} ms.` } });
      }, timeoutMs);
      this.pending.set(requestId, { resolve, timer });
      // The runner is told how long it has: a send it paces must not wait past it (runner/send-pacing.ts).
      this.send(ws, { type: 'command', request_id: requestId, connection_pk: connectionPk, epoch: lease.epoch, command, timeout_ms: timeoutMs });
    });
  }

  /**
   * Verifies a runner's token and judges its claims to connections (each a connection and an epoch): the
   * runner-facing routes ask this on every call. Needs no Postgres for a token already mirrored, so event
   * intake keeps working while Postgres is down.
   */
  async authorizeRunner(runnerId: string, tokenHash: string, claims: { connectionPk: string; epoch: number }[]): Promise<RunnerAuthorization> {
    const credentialId = await this.authenticate(runnerId, tokenHash);
    if (!credentialId) return { ok: false };
    return { ok: true, credentialId, claims: claims.map((c) => this.judge(runnerId, c.connectionPk, c.epoch)) };
  }

  private judge(runnerId: string, connectionPk: string, epoch: number): ClaimAnswer {
    const lease = this.registry.lease(connectionPk);
    if (!lease) return { connectionPk, epoch, verdict: 'unknown_connection' };
    const tenantId = lease.tenant_id;
    if (this.registry.holderAt(connectionPk, epoch) !== runnerId) return { connectionPk, epoch, tenantId, verdict: 'not_holder' };
    // Granted to this runner under `epoch`; held still while that epoch is current (also once released:
    // its final flush may come after, and no other runner holds it until a newer epoch is granted).
    return { connectionPk, epoch, tenantId, verdict: lease.epoch === epoch ? 'holder' : 'former_holder' };
  }

  /** Runners and leases as the Scheduler sees them (operations and tests). */
  async snapshot() {
    return { runners: this.registry.runners(), leases: this.registry.heldLeases() };
  }

  // Reconciliation -----------------------------------------------------------------------------------

  override async alarm(): Promise<void> {
    let busy = true;
    // Every pass, before anything that may wait on Postgres: this bounds how long a revoked token works.
    await this.syncCredentials();
    try {
      busy = await this.reconcile();
    } catch (e) {
      // Never let an error (e.g. Postgres down mid-grant) end the reconcile loop: try again shortly.
      this.log('error', 'reconcile failed; retrying', { error: String(e) });
    }
    await this.ctx.storage.setAlarm(Date.now() + (busy ? 1_000 : this.config.reconcileMs));
  }

  private async soon() {
    const current = await this.ctx.storage.getAlarm();
    const at = Date.now() + 50;
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /** Brings leases in line with what should run; returns true while work is still in flight. */
  private async reconcile(): Promise<boolean> {
    if (this.reconciling) {
      this.reconcileAgain = true;
      return true;
    }
    this.reconciling = true;
    try {
      let busy = false;
      do {
        this.reconcileAgain = false;
        busy = await this.reconcileOnce();
      } while (this.reconcileAgain);
      return busy;
    } finally {
      this.reconciling = false;
    }
  }

  private async reconcileOnce(): Promise<boolean> {
    const now = Date.now();
    const { graceMs, heartbeatMs, revokeTimeoutMs } = this.config;
    let busy = false;

    // Runners that are gone: their leases become free (fencing keeps a zombie from writing).
    for (const r of this.registry.runners()) {
      const lostLink = !r.connected && r.disconnected_at !== null && now - r.disconnected_at >= graceMs;
      const silent = r.connected && now - r.last_seen_at > 3 * heartbeatMs + graceMs;
      if (!lostLink && !silent) {
        if (!r.connected) busy = true;
        continue;
      }
      for (const ws of this.ctx.getWebSockets(r.runner_id)) ws.close(4001, 'heartbeats missed');
      const leases = this.registry.leasesOf(r.runner_id);
      if (silent) await this.announceUnreachable(leases, now); // a lost link was announced when it dropped
      for (const lease of leases) this.registry.release(lease.connection_pk);
      this.registry.forgetRunner(r.runner_id);
      this.log('warn', 'runner presumed gone; its connections move', { runnerId: r.runner_id });
    }

    // Revokes that were never answered count as released once they time out.
    for (const lease of this.registry.heldLeases()) {
      if (lease.state === 'revoking') {
        if (now - (lease.revoke_sent_at ?? now) > revokeTimeoutMs) this.registry.release(lease.connection_pk);
        else busy = true;
      }
    }

    const db = httpDb(this.env);
    let desired;
    try {
      desired = await desiredConnections(db, { shard: await this.shard(), shards: this.shards });
    } catch (e) {
      this.log('error', 'cannot read connections from Postgres; will retry', { error: String(e) });
      return true;
    }
    const wanted = new Map(desired.map((d) => [d.connectionPk, d]));

    // Held leases that should no longer run.
    for (const lease of this.registry.heldLeases()) {
      if (wanted.has(lease.connection_pk) || lease.state === 'revoking') continue;
      this.revoke(lease.connection_pk, lease.runner_id!, lease.epoch, 'stopped', now);
      busy = true;
    }

    // Draining runners hand off one lease at a time.
    for (const r of this.registry.runners()) {
      if (!r.draining) continue;
      const leases = this.registry.leasesOf(r.runner_id);
      if (leases.length === 0 || leases.some((l) => l.state === 'revoking')) {
        busy ||= leases.length > 0;
        continue;
      }
      const next = leases[0]!;
      this.revoke(next.connection_pk, r.runner_id, next.epoch, 'drain', now);
      busy = true;
    }

    // Connections that should run but have no holder.
    const runners = this.registry.runners();
    const load = this.registry.loadByRunner();
    // Placed first, recorded in Postgres in one statement (fencing), then sent.
    const placed: (LeaseRecord & { tenantId: string; connectionId: string })[] = [];
    for (const d of desired) {
      const lease = this.registry.lease(d.connectionPk);
      if (lease?.runner_id) continue;
      const target = pickRunner(runners, load);
      if (!target) {
        busy = true;
        continue;
      }
      const epoch = Math.max(lease?.epoch ?? 0, d.leaseEpoch) + 1;
      placed.push({ connectionPk: d.connectionPk, runnerId: target, epoch, tenantId: d.tenantId, connectionId: d.connectionId });
      load.set(target, (load.get(target) ?? 0) + 1);
    }
    const recorded = placed.length ? await recordLeases(db, placed) : new Set<string>();
    // One log line per pass, not per lease: a restore grants hundreds at once.
    const granted: Record<string, number> = {};
    for (const p of placed) {
      if (!recorded.has(p.connectionPk)) continue; // raced with a newer epoch
      this.registry.grant({ connectionPk: p.connectionPk, tenantId: p.tenantId, connectionId: p.connectionId, runnerId: p.runnerId, epoch: p.epoch, now });
      const ws = this.socketOf(p.runnerId);
      if (ws) {
        this.send(ws, { type: 'lease.grant', connection_pk: p.connectionPk, tenant_id: p.tenantId, connection_id: p.connectionId, epoch: p.epoch });
      }
      granted[p.runnerId] = (granted[p.runnerId] ?? 0) + 1;
    }
    if (Object.keys(granted).length) this.log('info', 'leases granted', { byRunner: granted });

    // Free lease rows of connections that no longer exist or run: Postgres keeps their epoch.
    for (const lease of this.ctx.storage.sql
      .exec<{ connection_pk: string }>('SELECT connection_pk FROM leases WHERE runner_id IS NULL')
      .toArray()) {
      if (!wanted.has(lease.connection_pk)) this.registry.forget(lease.connection_pk);
    }
    return busy;
  }

  private revoke(connectionPk: string, runnerId: string, epoch: number, reason: 'stopped' | 'drain', now: number) {
    const ws = this.socketOf(runnerId);
    if (!ws) {
      this.registry.release(connectionPk);
      return;
    }
    this.registry.markRevoking(connectionPk, now);
    this.send(ws, { type: 'lease.revoke', connection_pk: connectionPk, epoch, reason });
    this.log('info', 'lease revoked', { runnerId, connectionPk, epoch, reason });
  }

  // Shard ---------------------------------------------------------------------------------------------

  /** How many shards the Scheduler has (SCHEDULER_SHARDS): the same for every instance. */
  private get shards() {
    return shardCount(this.env.SCHEDULER_SHARDS);
  }

  private shardIndex: number | undefined;

  /**
   * Which shard this instance is: told by whoever reaches it first (a runner's link, a poke), kept in its
   * storage for the alarm, which is told nothing.
   */
  private async learnShard(shard: number) {
    if (!Number.isSafeInteger(shard) || shard < 0 || shard >= this.shards) throw new Error(`no Scheduler shard ${shard} of ${this.shards}`);
    if (this.shardIndex === shard) return;
    this.shardIndex = shard;
    await this.ctx.storage.put('shard', shard);
  }

  private async shard(): Promise<number> {
    this.shardIndex ??= (await this.ctx.storage.get<number>('shard')) ?? 0;
    return this.shardIndex;
  }

  // Helpers ------------------------------------------------------------------------------------------

  /** Each runner's open link, as last found (looking it up among all sockets on every command cost CPU). */
  private readonly sockets = new Map<string, WebSocket>();

  private socketOf(runnerId: string): WebSocket | undefined {
    const known = this.sockets.get(runnerId);
    if (known?.readyState === WebSocket.OPEN) return known;
    const found = this.ctx.getWebSockets(runnerId).find((ws) => ws.readyState === WebSocket.OPEN);
    if (found) this.sockets.set(runnerId, found);
    else this.sockets.delete(runnerId);
    return found;
  }

  /**
   * Frames to runners are typed where they are made, and their commands were built by the Worker from input
   * it validated: checking them again with zod was the Scheduler's largest cost per send. What runners send
   * in is validated (webSocketMessage), as is every frame a runner receives, on its side.
   */
  private send(ws: WebSocket, frame: ControlToRunner) {
    try {
      ws.send(JSON.stringify(frame));
    } catch (e) {
      this.log('warn', 'could not send to runner', { error: String(e) });
    }
  }

  private log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}) {
    console[level === 'info' ? 'log' : level](JSON.stringify({ level, msg, component: 'scheduler', ...fields }));
  }
}
