// Small concurrency primitives shared by the runner's layers: jittered backoff and a semaphore.

/** Exponential backoff with full jitter: uniform in [0, min(cap, base·2^attempt)]. */
export const backoffMs = (attempt: number, baseMs: number, capMs: number, random = Math.random): number =>
  Math.floor(random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30)));

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise(resolve => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Resolves with `promise`, or with `fallback` after `ms` (the promise keeps running). */
export const within = <T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    promise.then(
      v => (clearTimeout(timer), resolve(v)),
      e => (clearTimeout(timer), reject(e)),
    );
  });

/** Counting semaphore: at most `limit` holders; waiters are served in order. */
export class Semaphore {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  constructor(readonly limit: number) {}

  get inUse(): number {
    return this.active;
  }
  get waiting(): number {
    return this.waiters.length;
  }

  /** Waits for a slot; the returned function gives it back (calling it twice is harmless). */
  async acquire(): Promise<() => void> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>(resolve => this.waiters.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next(); // the slot passes straight to the next waiter
      else this.active--;
    };
  }
}
