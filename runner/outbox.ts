// The outbox: every event a session produces waits here, tagged with its lease (connection_pk, epoch),
// until the control plane has durably queued it (POST /internal/events answered 2xx). Control-plane
// outages only delay events: network errors and 5xx are retried with exponential backoff and jitter.
// A lease the control plane rejects (stale epoch, unknown connection) has lost its lease: its events
// are dropped and the sessions layer is told. Memory is bounded by `maxEvents` and `maxBytes`; with a
// spill (OUTBOX_DIR), what does not fit waits on disk instead (outbox-spill.ts), else the oldest is evicted.
//
// One bad event must not hold every other one back: a batch the control plane answers with an error
// (not a network failure or an unavailable/overloaded answer: an outage fails every batch alike) is split, and retried in halves, down to
// the one event that fails; that one, refused again and again, goes to the back of the queue so the rest
// move on (it is never dropped for that: it may be an outage after all). A batch too large for the
// control plane's body limit (413) is split at once; a single event that is too large alone can never be
// taken, and is dropped (counted as `too_large`).
import type { Logger } from 'pino';
import { EventBatchResult, MAX_EVENTS_PER_BATCH, RunnerEvent, isIdempotentFact } from '../protocol/runner.js';
import { backoffMs, sleep } from './backoff.js';
import type { RunnerMetrics } from './metrics.js';
import type { JournalEntry, OutboxJournal } from './outbox-journal.js';
import type { OutboxSpill } from './outbox-spill.js';

/**
 * `stored` runs once the control plane has the event (or has refused it for good): the message's delivery
 * receipt waits for it (receipt-gate.ts). In memory only: after a restart the socket that could send it is gone.
 */
type Entry = JournalEntry & { stored?: () => void; bytes?: number; json?: string };
/** An event's JSON, made once: it sizes the event, goes into the journal and travels in the POST as it is. */
const jsonOf = (e: Entry): string => (e.json ??= JSON.stringify(e.event));
/** An event's size as it travels and sits in memory: its JSON text in UTF-8 bytes. */
const sizeOf = (e: Entry): number => (e.bytes ??= Buffer.byteLength(jsonOf(e)));
/** A warning is logged when the outbox passes this share of either bound, long before it evicts. */
const WARN_AT = 0.5;
/** done: accepted (or refused for good); retry: no answer (network); refused: an error answer; too_large: 413. */
type PostOutcome = 'done' | 'retry' | 'refused' | 'too_large';
/** Answers that say the control plane is unavailable, whatever the batch: retried as they are, not split. */
const OUTAGE_STATUSES = new Set([408, 429, 502, 503, 504]);
/** A lone event refused this many times in a row is moved behind the others. */
const LONE_REFUSALS_BEFORE_SKIP = 3;
export type RejectReason = EventBatchResult['rejected'][number]['reason'];

export type OutboxOptions = {
  controlPlaneUrl: string;
  token: string;
  runnerId: string;
  /**
   * Memory cap. When full, a new event first evicts the oldest waiting `qr` event (a QR is useless once
   * it expired, and a newer one follows), otherwise the oldest waiting event; each eviction counts in
   * runner_outbox_dropped_total{reason="overflow"}. Events in flight are never evicted.
   */
  maxEvents?: number;
  /** The same bound in bytes (the events' JSON, UTF-8): a count alone lets a few huge events exhaust memory. */
  maxBytes?: number;
  batchSize?: number;
  /**
   * How long the first waiting event holds the next POST open for more (0: post on the next tick). A send
   * produces its message, the server ack and the contact's receipts within milliseconds: together they
   * cost the control plane one request, one queue write and one consumer transaction instead of one each.
   * A full batch or a flush() posts at once.
   */
  lingerMs?: number;
  retryBaseMs?: number;
  retryCapMs?: number;
  metrics?: RunnerMetrics;
  logger?: Logger;
  onRejected?: (connectionPk: string, epoch: number, reason: RejectReason) => void;
  /** Keeps every waiting event on local disk too, so a restarted process can replay it (OUTBOX_DIR). */
  journal?: OutboxJournal;
  /** Takes what does not fit in memory (OUTBOX_DIR), instead of evicting; evicts only past its own bound. */
  spill?: OutboxSpill;
};

export class Outbox {
  private queue: Entry[] = [];
  private inFlight = new Set<Entry>();
  private running = false;
  private closed = false;
  private attempt = 0;
  private readonly abort = new AbortController();
  private waiters: Array<{ pk?: string; resolve: () => void }> = [];
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  /** Bytes of the waiting events (see sizeOf). */
  private bytes = 0;
  /** Set once the outbox passed WARN_AT of a bound; cleared when it is back under half of that. */
  private filling = false;
  private readonly batchSize: number;
  private readonly lingerMs: number;
  /** How many events the next POST may carry: halved while batches are refused, doubled back after each success. */
  private limit: number;
  /** Times in a row a batch of one event was refused. */
  private loneRefusals = 0;
  /** Set while the next POST waits out the linger window; cleared when it starts. */
  private lingering: { timer: NodeJS.Timeout; start: () => void } | undefined;
  /** `stored` callbacks of events on disk (a callback cannot be written down), by event id. */
  private readonly spilledStored = new Map<string, () => void>();
  /** Connections whose events on disk were dropped, with the highest epoch dropped: filtered as they are read back. */
  private readonly spillDrops = new Map<string, number>();
  /** Set once events went to disk; cleared when none are left there. */
  private spilling = false;

  constructor(private readonly opts: OutboxOptions) {
    this.maxEvents = opts.maxEvents ?? 100_000;
    this.maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
    this.batchSize = Math.min(opts.batchSize ?? MAX_EVENTS_PER_BATCH, MAX_EVENTS_PER_BATCH);
    this.limit = this.batchSize;
    this.lingerMs = opts.lingerMs ?? 0;
  }

  /** Events waiting, in memory and on disk. */
  get depth(): number {
    return this.queue.length + (this.opts.spill?.events ?? 0);
  }

  /** Bytes of the events waiting in memory (their JSON, UTF-8). */
  get size(): number {
    return this.bytes;
  }

  /**
   * Queues events of one lease. Invalid events are refused here, so one bad event never blocks a batch.
   * `whenStored` (by event id) runs once the control plane has that event.
   */
  push(pk: string, epoch: number, events: RunnerEvent[], whenStored?: ReadonlyMap<string, () => void>): void {
    if (this.closed) return;
    const added: Entry[] = [];
    const spilled: Entry[] = [];
    const spill = this.opts.spill;
    for (const event of events) {
      if (!RunnerEvent.safeParse(event).success) {
        this.opts.logger?.error({ connection_pk: pk, event_id: event.id, type: event.type }, 'outbox: invalid event dropped');
        this.opts.metrics?.outboxDropped.inc({ reason: 'invalid' });
        whenStored?.get(event.id)?.(); // never storable: redelivering it would not help
        continue;
      }
      const entry: Entry = { pk, epoch, event, stored: whenStored?.get(event.id) };
      const full = () => this.queue.length >= this.maxEvents || this.bytes + sizeOf(entry) > this.maxBytes;
      // Once anything is on disk, newer events follow it there: a connection's events keep their order.
      if (spill && (spill.events > 0 || spilled.length > 0 || full())) {
        if (entry.stored) this.spilledStored.set(event.id, entry.stored);
        spilled.push(entry);
        continue;
      }
      while (full() && this.evictOne());
      this.queue.push(entry);
      this.bytes += sizeOf(entry);
      added.push(entry);
    }
    this.opts.journal?.added(added);
    if (spill && spilled.length) this.toDisk(spill, spilled);
    this.gauge();
    this.kick();
  }

  /** Writes events to the spill; past its bound, its oldest segment is evicted (counted, logged). */
  private toDisk(spill: OutboxSpill, entries: Entry[]): void {
    spill.write(entries);
    if (!this.spilling) {
      this.spilling = true;
      this.opts.logger?.warn(
        { events: this.queue.length, bytes: this.bytes, max_bytes: this.maxBytes, spill_max_bytes: spill.maxBytes },
        'outbox: memory bound reached; newer events wait on disk until the control plane takes them',
      );
    }
    while (spill.bytes > spill.maxBytes && spill.peek() && spill.peek()!.events < spill.events) {
      const evicted = spill.takeOldest()!;
      evicted.release();
      for (const e of evicted.entries) this.spilledStored.delete(e.event.id);
      this.opts.metrics?.outboxDropped.inc({ reason: 'overflow' }, evicted.entries.length);
      this.opts.logger?.error({ evicted: evicted.entries.length, spill_max_bytes: spill.maxBytes }, 'outbox: spill full on disk: evicting its oldest events');
    }
  }

  /** Reads spilled events back, oldest segment first, while memory has room (at least one segment when empty). */
  private refill(): void {
    const spill = this.opts.spill;
    if (!spill || this.closed) return;
    for (let next = spill.peek(); next; next = spill.peek()) {
      const room = this.queue.length === 0 || (this.bytes + next.bytes <= this.maxBytes && this.queue.length + next.events <= this.maxEvents);
      if (!room) break;
      const { entries, release } = spill.takeOldest()!;
      const back: Entry[] = [];
      for (const e of entries as Entry[]) {
        const stored = this.spilledStored.get(e.event.id);
        this.spilledStored.delete(e.event.id);
        if ((this.spillDrops.get(e.pk) ?? 0) >= e.epoch) continue;
        back.push({ ...e, stored });
      }
      this.queue.push(...back);
      for (const e of back) this.bytes += sizeOf(e);
      this.opts.journal?.added(back);
      release();
    }
    if (spill.events === 0) {
      this.spillDrops.clear();
      this.spilling = false;
    }
  }

  /** Queues events a previous process journaled and never handed over (already in the journal). */
  replay(entries: Entry[]): void {
    if (this.closed) return;
    this.queue.push(...entries);
    for (const e of entries) this.bytes += sizeOf(e);
    // Then what the previous process had on disk, which is newer.
    this.refill();
    this.gauge();
    this.kick();
  }

  /** Drops every waiting event of a lease (at or below `epoch` when given): the lease is gone. */
  drop(pk: string, epoch?: number): number {
    const keep = (e: Entry) => this.inFlight.has(e) || e.pk !== pk || (epoch !== undefined && e.epoch > epoch);
    const dropped = this.queue.filter(e => !keep(e));
    this.queue = this.queue.filter(keep);
    if (dropped.length) this.opts.metrics?.outboxDropped.inc({ reason: 'rejected' }, dropped.length);
    const onDisk = epoch ?? this.opts.spill?.highestEpoch(pk);
    if (this.opts.spill && onDisk !== undefined) {
      this.spillDrops.set(pk, Math.max(this.spillDrops.get(pk) ?? 0, onDisk));
      this.opts.spill.forget(pk, onDisk);
    }
    this.settle(dropped);
    return dropped.length;
  }

  /** Resolves once no event of `pk` (or none at all) is waiting or in flight. */
  flush(pk?: string): Promise<void> {
    if (!this.pending(pk)) return Promise.resolve();
    return new Promise(resolve => {
      this.waiters.push({ pk, resolve });
      this.kick();
      this.lingering?.start(); // someone waits for these events: no reason to hold them
    });
  }

  /** Stops posting (waiting events stay in memory until the process ends). */
  close(): void {
    this.closed = true;
    if (this.lingering) clearTimeout(this.lingering.timer);
    this.lingering = undefined;
    this.abort.abort();
    this.opts.spill?.close();
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  private pending(pk?: string): boolean {
    const spill = this.opts.spill;
    if (pk === undefined) return this.queue.length > 0 || (spill?.events ?? 0) > 0;
    return this.queue.some(e => e.pk === pk) || !!spill?.has(pk);
  }

  /**
   * Makes room by dropping the oldest waiting QR, else the oldest waiting event; false if all are in flight.
   * A message dropped here still has its delivery receipt held: WhatsApp delivers it again on the next login.
   */
  private evictOne(): boolean {
    let victim = this.queue.findIndex(e => e.event.type === 'qr' && !this.inFlight.has(e));
    if (victim < 0) victim = this.queue.findIndex(e => !this.inFlight.has(e));
    if (victim < 0) return false;
    const [evicted] = this.queue.splice(victim, 1);
    this.bytes -= sizeOf(evicted!);
    this.opts.journal?.done([evicted!], this.queue);
    this.opts.metrics?.outboxDropped.inc({ reason: 'overflow' });
    if (victim === 0 || this.queue.length % 1000 === 0) {
      this.opts.logger?.warn({ max_events: this.maxEvents, max_bytes: this.maxBytes }, 'outbox full: evicting oldest events');
    }
    return true;
  }

  /** Depth and bytes to the metrics, and a warning when either passes WARN_AT of its bound. */
  private gauge(): void {
    this.opts.metrics?.outboxDepth.set(this.depth);
    this.opts.metrics?.outboxBytes.set(this.bytes);
    this.opts.metrics?.outboxSpilledBytes.set(this.opts.spill?.bytes ?? 0);
    const fill = Math.max(this.queue.length / this.maxEvents, this.bytes / this.maxBytes);
    if (!this.filling && fill >= WARN_AT) {
      this.filling = true;
      this.opts.logger?.warn(
        { events: this.queue.length, bytes: this.bytes, max_events: this.maxEvents, max_bytes: this.maxBytes },
        this.opts.spill
          ? 'outbox filling up: the control plane is not taking events; past the bound they wait on disk'
          : 'outbox filling up: the control plane is not taking events; at the bound the oldest are evicted',
      );
    } else if (this.filling && fill < WARN_AT / 2) this.filling = false;
  }

  /** After events left the queue: the journal learns which, depth and waiters are updated. */
  private settle(removed: readonly Entry[] = []): void {
    if (removed.length) this.opts.journal?.done(removed, this.queue);
    for (const e of removed) this.bytes -= sizeOf(e);
    this.refill();
    this.gauge();
    this.waiters = this.waiters.filter(w => {
      if (this.pending(w.pk)) return true;
      w.resolve();
      return false;
    });
  }

  private kick(): void {
    if (this.queue.length === 0) this.refill();
    if (this.running || this.closed || this.queue.length === 0) {
      if (this.lingering && this.queue.length >= this.batchSize) this.lingering.start();
      return;
    }
    this.running = true;
    const start = () => {
      if (this.lingering) clearTimeout(this.lingering.timer);
      this.lingering = undefined;
      void this.run().finally(() => ((this.running = false), this.kick()));
    };
    if (this.lingerMs > 0 && this.queue.length < this.batchSize && this.waiters.length === 0) {
      this.lingering = { timer: setTimeout(start, this.lingerMs), start };
    } else {
      // Next tick, so events pushed in the same turn travel in one batch.
      setImmediate(start);
    }
  }

  private async run(): Promise<void> {
    while (!this.closed && this.queue.length > 0) {
      const batch = this.queue.slice(0, this.limit);
      for (const e of batch) this.inFlight.add(e);
      let outcome: PostOutcome;
      try {
        outcome = await this.post(batch);
      } finally {
        for (const e of batch) this.inFlight.delete(e);
      }
      if (outcome === 'done') {
        this.attempt = 0;
        this.loneRefusals = 0;
        this.limit = Math.min(this.batchSize, this.limit * 2);
        continue;
      }
      if (outcome === 'too_large') {
        if (batch.length > 1) this.limit = Math.ceil(batch.length / 2);
        else this.dropTooLarge(batch[0]!);
        continue;
      }
      if (outcome === 'refused') this.isolate(batch);
      this.opts.metrics?.outboxPostFailures.inc();
      await sleep(backoffMs(this.attempt++, this.opts.retryBaseMs ?? 500, this.opts.retryCapMs ?? 30_000) + 10, this.abort.signal);
    }
  }

  /** A refused batch: split it; a single event refused again and again goes behind the others. */
  private isolate(batch: Entry[]): void {
    if (batch.length > 1) {
      this.limit = Math.ceil(batch.length / 2);
      return;
    }
    if (++this.loneRefusals < LONE_REFUSALS_BEFORE_SKIP || this.queue.length < 2) return;
    this.loneRefusals = 0;
    const [head] = this.queue.splice(0, 1);
    this.queue.push(head!);
    this.opts.logger?.warn({ connection_pk: head!.pk, event_id: head!.event.id, type: head!.event.type }, 'outbox: the control plane keeps refusing this event; the others go first');
  }

  private dropTooLarge(entry: Entry): void {
    this.opts.logger?.error({ connection_pk: entry.pk, event_id: entry.event.id, type: entry.event.type }, 'outbox: event too large for the control plane, dropped');
    this.opts.metrics?.outboxDropped.inc({ reason: 'too_large' });
    this.remove(new Set([entry]));
    entry.stored?.(); // never storable: redelivering it would not help
  }

  private async post(batch: Entry[]): Promise<PostOutcome> {
    const groups = new Map<string, { connection_pk: string; epoch: number; events: string[] }>();
    for (const e of batch) {
      const key = `${e.pk}:${e.epoch}`;
      const g = groups.get(key) ?? { connection_pk: e.pk, epoch: e.epoch, events: [] };
      g.events.push(jsonOf(e));
      groups.set(key, g);
    }
    // An EventBatch, written from each event's JSON as it was made (not stringified a second time).
    const leases = [...groups.values()].map((g) => `{"connection_pk":${JSON.stringify(g.connection_pk)},"epoch":${g.epoch},"events":[${g.events.join(',')}]}`);
    const body = `{"runner_id":${JSON.stringify(this.opts.runnerId)},"leases":[${leases.join(',')}]}`;
    let res: Response;
    try {
      res = await fetch(`${this.opts.controlPlaneUrl}/internal/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.opts.token}`, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(30_000)]),
      });
    } catch (err) {
      if (!this.closed) this.opts.logger?.warn({ err: (err as Error).message, events: batch.length }, 'outbox: post failed, will retry');
      return 'retry';
    }
    const text = await res.text().catch(() => '');
    if (res.status === 400) {
      // The control plane refused the batch's shape. Retrying the same bytes cannot succeed.
      this.opts.logger?.error({ status: res.status, body: text.slice(0, 500), events: batch.length }, 'outbox: batch refused as invalid, dropped');
      this.opts.metrics?.outboxDropped.inc({ reason: 'invalid' }, batch.length);
      this.remove(new Set(batch));
      for (const e of batch) e.stored?.();
      return 'done';
    }
    if (res.status === 413) return 'too_large';
    if (!res.ok) {
      this.opts.logger?.warn({ status: res.status, events: batch.length }, 'outbox: post refused, will retry');
      // Unavailable, overloaded, a gateway in between: the control plane's state, not the batch's.
      return OUTAGE_STATUSES.has(res.status) ? 'retry' : 'refused';
    }
    let result: EventBatchResult = { accepted: [], rejected: [] };
    try {
      result = EventBatchResult.parse(JSON.parse(text));
    } catch {
      this.opts.logger?.warn({ body: text.slice(0, 200) }, 'outbox: unreadable batch result; 2xx taken as accepted');
    }
    this.remove(new Set(batch));
    const rejected = new Set(result.rejected.map(r => r.connection_pk));
    // Of a rejected lease the control plane keeps the facts (messages, receipts) and nothing else.
    for (const e of batch) if (!rejected.has(e.pk) || isIdempotentFact(e.event)) e.stored?.();
    for (const r of result.rejected) {
      const epochs = batch.filter(e => e.pk === r.connection_pk).map(e => e.epoch);
      const epoch = epochs.length ? Math.max(...epochs) : 0;
      // Of a rejected lease the control plane still keeps the facts (messages, receipts): only the rest is lost.
      const kept = result.accepted.find(a => a.connection_pk === r.connection_pk)?.count ?? 0;
      const rejectedInBatch = Math.max(0, epochs.length - kept);
      if (rejectedInBatch) this.opts.metrics?.outboxDropped.inc({ reason: 'rejected' }, rejectedInBatch);
      this.drop(r.connection_pk, epoch);
      this.opts.logger?.warn({ connection_pk: r.connection_pk, epoch, reason: r.reason, kept, dropped: rejectedInBatch }, 'outbox: lease rejected; its messages and receipts kept, the rest dropped');
      this.opts.onRejected?.(r.connection_pk, epoch, r.reason);
    }
    return 'done';
  }

  private remove(done: Set<Entry>): void {
    this.queue = this.queue.filter(e => !done.has(e));
    this.settle([...done]);
  }
}
