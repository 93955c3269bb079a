// A Baileys AuthenticationState (creds + Signal key store) kept in memory and persisted through the
// control plane's auth-state API (protocol/runner.ts, AUTH_STATE), which stores it in R2.
//
// Write rate is bounded: key changes are coalesced in memory and written as ONE delta per flush interval
// when something changed; creds that change at pairing are written at once, so a fresh link survives a
// crash; every `snapshotEvery` deltas a full snapshot compacts the log. What a kill -9 can lose: at most
// the key changes of the last flush interval (plus a write in flight). A 403 stale_epoch means this
// runner lost the lease: the state stops writing for good and tells its owner.
import {
  BufferJSON,
  initAuthCreds,
  proto,
  type AuthenticationCreds,
  type AuthenticationState,
  type SignalDataSet,
  type SignalDataTypeMap,
} from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import { AuthStateDump, type AuthStateWrite } from '../protocol/runner.js';
import type { RunnerMetrics } from './metrics.js';

export class StaleEpochError extends Error {
  constructor(readonly connectionPk: string, readonly epoch: number) {
    super(`lease of ${connectionPk} at epoch ${epoch} is stale`);
  }
}

export type AuthStateOptions = {
  controlPlaneUrl: string;
  token: string;
  runnerId: string;
  connectionPk: string;
  epoch: number;
  flushIntervalMs?: number;
  /** A snapshot replaces the log after this many deltas. */
  snapshotEvery?: number;
  logger?: Logger;
  metrics?: RunnerMetrics;
  /** The control plane refused a write as stale: the lease is lost. */
  onStale?: () => void;
};

type KeyType = keyof SignalDataTypeMap;
type Keys = Map<string, Map<string, unknown>>;
/** How long a write waits for the messages it decrypted to be stored, at most. */
const BARRIER_MAX_WAIT_MS = 30_000;
/** Creds fields whose change means "newly linked": written at once. */
const PAIRING_FIELDS = ['me', 'account', 'registered', 'platform', 'signalIdentities'] as const;

/** BufferJSON.replacer, except for Buffers already in their stored form (inside a StoredKey), kept as they are. */
const replacer = (key: string, value: unknown) => {
  const v = value as { type?: unknown; data?: unknown } | null;
  return v?.type === 'Buffer' && typeof v.data === 'string' ? value : BufferJSON.replacer(key, value);
};
const encode = (value: unknown) => JSON.stringify(value, replacer);

/** BufferJSON.reviver applied to an already parsed value, bottom-up as JSON.parse would. */
const reviveBuffers = (value: unknown): unknown => {
  if (Array.isArray(value)) return BufferJSON.reviver('', value.map(reviveBuffers));
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    for (const k of Object.keys(obj)) obj[k] = reviveBuffers(obj[k]);
  }
  return BufferJSON.reviver('', value);
};

/**
 * A key as it came from storage, revived only when Baileys reads it. A restore parses the whole state
 * (hundreds of pre-keys) but the login touches a handful; reviving every Buffer up front was a large
 * share of a restore's CPU.
 */
class StoredKey {
  constructor(readonly raw: unknown) {}
  /** Written back exactly as it was read. */
  toJSON(): unknown {
    return this.raw;
  }
}

/** Restores typed values that JSON cannot carry as such. */
const revive = (type: string, value: unknown): unknown => {
  const plain = value instanceof StoredKey ? reviveBuffers(value.raw) : value;
  return type === 'app-state-sync-key' && plain ? proto.Message.AppStateSyncKeyData.fromObject(plain as object) : plain;
};

const applyKeys = (keys: Keys, data: Record<string, Record<string, unknown> | undefined> | undefined) => {
  for (const [type, entries] of Object.entries(data ?? {})) {
    let bucket = keys.get(type);
    if (!bucket) keys.set(type, (bucket = new Map()));
    for (const [id, value] of Object.entries(entries ?? {})) {
      if (value === null || value === undefined) bucket.delete(id);
      else bucket.set(id, new StoredKey(value));
    }
  }
};

/** A key's live value, reviving (once) what was loaded from storage. */
const keyValue = (bucket: Map<string, unknown> | undefined, type: string, id: string): unknown => {
  const v = bucket?.get(id);
  if (!(v instanceof StoredKey)) return v;
  const live = revive(type, v);
  bucket!.set(id, live);
  return live;
};

type StoredState = { creds?: AuthenticationCreds; keys?: Record<string, Record<string, unknown>> };

export class RemoteAuthState {
  readonly state: AuthenticationState;
  epoch: number;
  /** True once the control plane refused our epoch: nothing is written any more. */
  stale = false;
  writes = { delta: 0, snapshot: 0 };

  private credsDirty = false;
  private dirtyKeys = new Map<string, Set<string>>();
  private seq: number;
  private deltasSinceSnapshot: number;
  private needsSnapshot = false;
  /** The creds as last stored (encoded), to tell a real change from Baileys re-reporting the same values. */
  private storedCreds: string | undefined;
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /**
   * Awaited between taking a write's contents and sending it: the session's received messages decrypted
   * up to then must be stored first (receipt-gate.ts), or a redelivery to the next holder is undecryptable.
   */
  writeBarrier: (() => Promise<void>) | undefined;

  private constructor(
    private readonly opts: AuthStateOptions,
    private creds: AuthenticationCreds,
    private readonly keys: Keys,
    seq: number,
    deltas: number,
    readonly restored: boolean,
  ) {
    this.epoch = opts.epoch;
    this.seq = seq;
    this.deltasSinceSnapshot = deltas;
    const self = this;
    this.state = {
      get creds() {
        return self.creds;
      },
      set creds(c) {
        self.creds = c;
        self.credsDirty = true;
      },
      keys: {
        get: async <T extends KeyType>(type: T, ids: string[]) => {
          const bucket = self.keys.get(type);
          const out: { [id: string]: SignalDataTypeMap[T] } = {};
          if (bucket) for (const id of ids) {
            const v = keyValue(bucket, type, id);
            if (v !== undefined) out[id] = v as SignalDataTypeMap[T];
          }
          return out;
        },
        set: async (data: SignalDataSet) => self.setKeys(data),
        clear: async () => {
          for (const [type, bucket] of self.keys) for (const id of bucket.keys()) self.markKey(type, id);
          self.keys.clear();
        },
      },
    };
    if (!restored) this.credsDirty = true;
    else this.storedCreds = encode(creds);
    const interval = opts.flushIntervalMs ?? 1000;
    this.timer = setInterval(() => {
      if (this.dirty) void this.flush().catch(() => undefined);
    }, interval);
    this.timer.unref();
  }

  /** Loads snapshot + deltas (in seq order); a connection with nothing stored starts from fresh creds. */
  static async load(opts: AuthStateOptions): Promise<RemoteAuthState> {
    const res = await fetch(authUrl(opts, `?epoch=${opts.epoch}`), { headers: headers(opts) });
    if (res.status === 404 || res.status === 409 || res.status === 403) {
      if (await leaseGone(res)) throw new StaleEpochError(opts.connectionPk, opts.epoch);
      return new RemoteAuthState(opts, initAuthCreds(), new Map(), 0, 0, false);
    }
    if (!res.ok) throw new Error(`auth state load failed: HTTP ${res.status}`);
    const dump = AuthStateDump.parse(await res.json());
    // Parsed without a reviver: creds are revived now, keys when first read (StoredKey).
    const parse = (text: string) => {
      const state = JSON.parse(text) as StoredState;
      return { creds: state.creds && (reviveBuffers(state.creds) as Partial<AuthenticationCreds>), keys: state.keys };
    };
    let creds: AuthenticationCreds | undefined;
    const keys: Keys = new Map();
    let seq = 0;
    if (dump.snapshot) {
      const snap = parse(dump.snapshot.data);
      creds = snap.creds as AuthenticationCreds | undefined;
      applyKeys(keys, snap.keys);
      seq = dump.snapshot.seq;
    }
    const deltas = dump.deltas.filter(d => !dump.snapshot || d.seq > dump.snapshot.seq).sort((a, b) => a.seq - b.seq);
    for (const d of deltas) {
      const delta = parse(d.data);
      // Every write carries the whole creds object, so a delta's creds never need fresh defaults beneath them.
      if (delta.creds) creds = { ...creds, ...delta.creds } as AuthenticationCreds;
      applyKeys(keys, delta.keys);
      seq = Math.max(seq, d.seq);
    }
    const restored = !!creds;
    return new RemoteAuthState(opts, creds ?? initAuthCreds(), keys, seq, deltas.length, restored);
  }

  get dirty(): boolean {
    return this.credsDirty || this.dirtyKeys.size > 0;
  }

  /**
   * The phone-number user Baileys learned for a LID user (its `lid-mapping` keys: from message envelopes,
   * usync and app-state sync), or undefined. Kept in the auth state, so it survives restarts and moves.
   */
  phoneUserOfLid(lidUser: string): string | undefined {
    const pn = keyValue(this.keys.get('lid-mapping'), 'lid-mapping', `${lidUser}_reverse`);
    return typeof pn === 'string' && pn ? pn : undefined;
  }

  /** Number of stored keys (all types). */
  get keyCount(): number {
    let n = 0;
    for (const b of this.keys.values()) n += b.size;
    return n;
  }

  /** Baileys' creds.update: merged already by Baileys; pairing fields make us write at once. */
  credsChanged(update: Partial<AuthenticationCreds>): void {
    Object.assign(this.creds, update);
    this.credsDirty = true;
    if (PAIRING_FIELDS.some(f => f in update)) void this.flush().catch(() => undefined);
  }

  /** Writes what changed since the last write (one request), or nothing. Serialized. */
  flush(): Promise<void> {
    const next = this.writing.then(() => this.writeOnce());
    this.writing = next.catch(() => undefined);
    return next;
  }

  /** Deletes the stored state (after logout) and starts this session over from fresh creds. */
  async delete(): Promise<void> {
    await this.writing;
    if (this.stale) return;
    const res = await fetch(authUrl(this.opts, `?epoch=${this.epoch}`), { method: 'DELETE', headers: headers(this.opts) });
    if (await leaseGone(res)) return this.markStale();
    if (!res.ok && res.status !== 404) throw new Error(`auth state delete failed: HTTP ${res.status}`);
    this.creds = initAuthCreds();
    this.keys.clear();
    this.dirtyKeys.clear();
    this.credsDirty = false;
    // The log is gone: the next write (if this session is linked again) must be a full snapshot.
    this.needsSnapshot = true;
  }

  /** Stops the periodic flush (call flush() first to keep pending changes). */
  close(): void {
    clearInterval(this.timer);
  }

  private setKeys(data: SignalDataSet): void {
    for (const [type, entries] of Object.entries(data)) {
      let bucket = this.keys.get(type);
      if (!bucket) this.keys.set(type, (bucket = new Map()));
      for (const [id, value] of Object.entries(entries ?? {})) {
        if (value === null || value === undefined) bucket.delete(id);
        else bucket.set(id, value);
        this.markKey(type, id);
      }
    }
  }

  private markKey(type: string, id: string): void {
    let ids = this.dirtyKeys.get(type);
    if (!ids) this.dirtyKeys.set(type, (ids = new Set()));
    ids.add(id);
  }

  private async writeOnce(): Promise<void> {
    if (this.stale || !this.dirty) return;
    let credsDirty = this.credsDirty;
    const dirtyKeys = this.dirtyKeys;
    this.credsDirty = false;
    this.dirtyKeys = new Map();
    // Every login re-reports creds that did not change (`me`, for one): a restore writes nothing for that.
    // (Encoded only when creds may be written: a flush of key changes alone does not pay for it.)
    let credsJson = credsDirty ? encode(this.creds) : undefined;
    if (credsDirty && credsJson === this.storedCreds) credsDirty = false;
    if (!credsDirty && dirtyKeys.size === 0 && !this.needsSnapshot) return;
    const snapshot = this.needsSnapshot || this.deltasSinceSnapshot + 1 >= (this.opts.snapshotEvery ?? 50);
    // What this write stores, taken now: creds may change while the request is in flight.
    if (snapshot) credsJson ??= encode(this.creds);
    let data: string;
    if (snapshot) {
      const keys: Record<string, Record<string, unknown>> = {};
      for (const [type, bucket] of this.keys) if (bucket.size) keys[type] = Object.fromEntries(bucket);
      data = encode({ creds: this.creds, keys });
    } else {
      const keys: Record<string, Record<string, unknown>> = {};
      for (const [type, ids] of dirtyKeys) {
        const bucket = this.keys.get(type);
        keys[type] = Object.fromEntries([...ids].map(id => [id, bucket?.get(id) ?? null]));
      }
      data = encode(credsDirty ? { creds: this.creds, keys } : { keys });
    }
    if (this.writeBarrier) await this.awaitBarrier(this.writeBarrier);
    // A fresh seq per attempt: a retried delta that did land twice is harmless (same values).
    const body: AuthStateWrite = { runner_id: this.opts.runnerId, epoch: this.epoch, kind: snapshot ? 'snapshot' : 'delta', seq: ++this.seq, data };
    let status: number;
    let gone: boolean;
    try {
      const res = await fetch(authUrl(this.opts, ''), {
        method: 'POST',
        headers: { ...headers(this.opts), 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      status = res.status;
      gone = await leaseGone(res);
    } catch (err) {
      this.restoreDirty(credsDirty, dirtyKeys);
      this.opts.logger?.warn({ err: (err as Error).message }, 'auth state write failed, will retry');
      throw err;
    }
    if (gone) {
      this.markStale();
      throw new StaleEpochError(this.opts.connectionPk, this.epoch);
    }
    if (status < 200 || status >= 300) {
      this.restoreDirty(credsDirty, dirtyKeys);
      this.opts.logger?.warn({ status }, 'auth state write refused, will retry');
      throw new Error(`auth state write failed: HTTP ${status}`);
    }
    this.opts.metrics?.authWrites.inc({ kind: body.kind });
    this.writes[body.kind]++;
    if (snapshot || credsDirty) this.storedCreds = credsJson;
    if (snapshot) {
      this.deltasSinceSnapshot = 0;
      this.needsSnapshot = false;
    } else this.deltasSinceSnapshot++;
  }

  /** Bounded: a message the outbox can never hand over (its lease lost, say) must not stop every write. */
  private async awaitBarrier(barrier: () => Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>(resolve => (timer = setTimeout(resolve, BARRIER_MAX_WAIT_MS, 'late')));
    const outcome = await Promise.race([barrier(), late]);
    clearTimeout(timer);
    if (outcome === 'late') this.opts.logger?.warn({ waited_ms: BARRIER_MAX_WAIT_MS }, 'auth state written before the messages it decrypted were stored');
  }

  private restoreDirty(creds: boolean, keys: Map<string, Set<string>>): void {
    if (creds) this.credsDirty = true;
    for (const [type, ids] of keys) for (const id of ids) this.markKey(type, id);
  }

  private markStale(): void {
    if (this.stale) return;
    this.stale = true;
    this.close();
    this.opts.logger?.warn({ connection_pk: this.opts.connectionPk, epoch: this.epoch }, 'auth state: stale epoch, lease lost');
    this.opts.onStale?.();
  }
}

/**
 * Consumes the body; true when the control plane says this lease may no longer touch the connection:
 * 403 stale_epoch / not_lease_holder (409 from an older control plane), or 404 connection_not_found
 * (deleted). A plain 404 on load means "nothing stored yet".
 */
const leaseGone = async (res: Response): Promise<boolean> => {
  if (res.status === 409 || res.status === 403) {
    await res.body?.cancel();
    return true;
  }
  if (res.status !== 404) {
    await res.body?.cancel();
    return false;
  }
  const body = (await res.json().catch(() => null)) as { error?: { code?: string } } | null;
  return body?.error?.code === 'connection_not_found';
};

const authUrl = (o: AuthStateOptions, query: string) => `${o.controlPlaneUrl}/internal/sessions/${o.connectionPk}/auth${query}`;
const headers = (o: AuthStateOptions) => ({ authorization: `Bearer ${o.token}` });
