import { BoundedMap } from './bounded-map.js';

// Answers worth remembering for a while: asked once, kept for a time that may depend on the answer,
// bounded in number (the oldest goes first), with concurrent asks for one key sharing one lookup. A lookup
// that fails is not remembered.

export type MemoOptions<V> = {
  /** How long an answer is believed. */
  ttlMs: (value: V) => number;
  /** Answers kept at most; the oldest is forgotten first. */
  maxEntries: number;
  now?: () => number;
};

export class Memo<V> {
  private readonly known: BoundedMap<string, { value: V; at: number }>;
  private readonly asking = new Map<string, Promise<V>>();
  private readonly now: () => number;

  constructor(private readonly opts: MemoOptions<V>) {
    this.now = opts.now ?? Date.now;
    this.known = new BoundedMap(opts.maxEntries);
  }

  /** The remembered answer, if it is still believed. */
  peek(key: string): V | undefined {
    const hit = this.known.get(key);
    if (!hit) return undefined;
    if (this.now() - hit.at < this.opts.ttlMs(hit.value)) return hit.value;
    this.known.delete(key);
    return undefined;
  }

  /** The remembered answer, or `lookup`'s (remembered from then on). */
  async get(key: string, lookup: (key: string) => Promise<V>): Promise<V> {
    const hit = this.known.get(key);
    if (hit && this.now() - hit.at < this.opts.ttlMs(hit.value)) return hit.value;
    let asking = this.asking.get(key);
    if (!asking) {
      asking = lookup(key)
        .then(value => {
          this.known.set(key, { value, at: this.now() });
          return value;
        })
        .finally(() => this.asking.delete(key));
      this.asking.set(key, asking);
    }
    return asking;
  }

  /** Remembers an answer learnt otherwise (several keys asked in one lookup). */
  set(key: string, value: V): void {
    this.known.set(key, { value, at: this.now() });
  }

  forget(key: string): void {
    this.known.delete(key);
  }
}
