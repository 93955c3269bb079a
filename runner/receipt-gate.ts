// Delivery receipts wait until the message is stored. The receipt is what tells WhatsApp that this device
// has a message: after it, WhatsApp never delivers that message again. Sent as Baileys sends it (before
// the app has even seen the message), a runner that dies before its outbox hands the message to the
// control plane loses it for good, and no other runner can get it back. Held until the control plane has
// accepted the message, a runner's death leaves the message unreceipted, and WhatsApp delivers it again
// to whichever runner connects the account next (storage is idempotent by message id).
//
// The same holds for the Signal session state: decrypting a message advances it, and a state stored with
// that advance makes WhatsApp's redelivery undecryptable on the next holder (Baileys then takes it for a
// duplicate and drops it). So auth-state writes wait at `barrier()` for the messages decrypted before them.
//
// Baileys hands us each receipt (`deferDeliveryReceipt`, patches/@whiskeysockets+baileys+*.patch) just
// before it upserts the message. `take` then claims it for the event that carries the message; a message
// that becomes no event has nothing to wait for, and is released at once.
//
// A socket that ends drops its event buffer: a message decrypted in the last moments (its upsert still
// buffered, or its decryption finishing after the close) never reaches us as an upsert, and its
// redelivery cannot be decrypted (the Signal session has moved on). So the receipt carries the decrypted
// message, and a receipt its socket's close leaves unclaimed comes back as an orphan, to be emitted as if
// upserted; it holds the barrier until that event is stored.
import type { MessageUpsertType, WAMessage, WAMessageKey } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';

type Send = () => Promise<void>;

/** The message Baileys decrypted, as it would upsert it. */
export type Decrypted = { message: WAMessage; type: MessageUpsertType };

/** A decrypted message its socket never upserted; `release` once its event is stored. */
export type Orphan = Decrypted & { release: () => void };

/** Which socket held a receipt: any object that identifies it (the Baileys socket itself). */
type SocketToken = object;

/**
 * A receipt whose message Baileys never upserts (it holds upserts at most ~20 s while history syncs)
 * goes out after this, so a message we can never store is not redelivered on every reconnect.
 */
const MAX_UNCLAIMED_MS = 120_000;

export class ReceiptGate {
  private readonly held = new Map<string, { send: Send; timer: NodeJS.Timeout; seq: number; decrypted?: Decrypted; socket?: SocketToken }>();
  /** Receipts held or claimed and not yet sent, by the order Baileys handed them over. */
  private readonly outstanding = new Set<number>();
  private seq = 0;
  private barriers: Array<{ upTo: number; resolve: () => void }> = [];
  /** Sockets that have closed: a receipt they hand over now is an orphan at once. */
  private readonly closed = new WeakSet<SocketToken>();

  constructor(
    private readonly logger: Logger,
    private readonly onChange: (delta: number) => void = () => undefined,
    private readonly maxUnclaimedMs = MAX_UNCLAIMED_MS,
    /** Decrypted messages a closed socket never upserted (see above); without it they are dropped. */
    private readonly onOrphans: (orphans: Orphan[], socket: SocketToken) => void = () => undefined,
  ) {}

  get size(): number {
    return this.held.size;
  }

  /** Baileys' hook: keeps the receipt of the message `key` until it is claimed. */
  hold(key: WAMessageKey, send: Send, decrypted?: Decrypted, socket?: SocketToken): void {
    const id = key.id;
    if (!id) return void this.deliver(send);
    this.take(id)?.(); // the same id twice (a redelivery while the first waits): the first goes now
    const timer = setTimeout(() => {
      this.logger.warn({ message_id: id }, 'delivery receipt released unclaimed: the message was never upserted');
      this.take(id)?.();
    }, this.maxUnclaimedMs);
    timer.unref();
    const seq = ++this.seq;
    this.held.set(id, { send, timer, seq, decrypted, socket });
    this.outstanding.add(seq);
    this.onChange(1);
    // Decrypted after its socket closed: Baileys' upsert has nowhere to go.
    if (socket && this.closed.has(socket)) this.close(socket);
  }

  /** Claims the receipt of message `id`: the function sends it (once). Undefined if none is held. */
  take(id: string | null | undefined): (() => void) | undefined {
    const entry = id ? this.held.get(id) : undefined;
    if (!entry) return undefined;
    this.held.delete(id!);
    clearTimeout(entry.timer);
    this.onChange(-1);
    let sent = false;
    return () => {
      if (sent) return;
      sent = true;
      this.settle([entry.seq]);
      this.deliver(entry.send);
    };
  }

  /**
   * `socket` closed: its receipts can no longer be sent, and WhatsApp will deliver those messages again.
   * Those that carry their decrypted message become orphans (handed to `onOrphans`), since that
   * redelivery will not decrypt; the rest (or all, without a socket) are discarded.
   */
  close(socket?: SocketToken): void {
    if (socket) this.closed.add(socket);
    const settled: number[] = [];
    const orphans: Orphan[] = [];
    for (const [id, entry] of this.held) {
      if (socket && entry.socket !== socket) continue;
      this.held.delete(id);
      clearTimeout(entry.timer);
      this.onChange(-1);
      if (!entry.decrypted || !socket) {
        settled.push(entry.seq);
        continue;
      }
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        this.settle([entry.seq]);
      };
      orphans.push({ ...entry.decrypted, release });
    }
    this.settle(settled);
    if (orphans.length) this.onOrphans(orphans, socket!);
  }

  /**
   * Resolves once every receipt handed over so far has been sent or discarded: what was decrypted
   * before now is stored. Receipts handed over later do not hold it up, so a busy chat cannot starve it.
   */
  barrier(): Promise<void> {
    const upTo = this.seq;
    if (!this.waitsFor(upTo)) return Promise.resolve();
    return new Promise(resolve => this.barriers.push({ upTo, resolve }));
  }

  private waitsFor(upTo: number): boolean {
    for (const seq of this.outstanding) if (seq <= upTo) return true;
    return false;
  }

  private settle(seqs: number[]): void {
    for (const seq of seqs) this.outstanding.delete(seq);
    this.barriers = this.barriers.filter(b => (this.waitsFor(b.upTo) ? true : (b.resolve(), false)));
  }

  private deliver(send: Send): void {
    // A closed socket refuses it: WhatsApp then redelivers the message, which is stored idempotently.
    send().catch(err => this.logger.debug({ err: (err as Error).message }, 'delivery receipt not sent'));
  }
}
