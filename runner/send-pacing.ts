// Per-connection send pacing: what keeps a WhatsApp number from sending like a machine, which is what gets
// numbers (and the runner IPs every tenant shares) banned. A token bucket per session: `burst` sends may go
// at once, after that one per 1/rate, each paced send later by a random jitter. Sends over the rate are not
// refused but queued (delayed), as long as the wait stays within `maxWaitMs` and within the time the
// control plane waits for the reply; past that bound a send is refused at once with the time after which
// it would be taken (`send_queue_full`, answered 429 with Retry-After).
//
// It lives in the runner, before Baileys' sendMessage: the one place that sees every send of its
// connection, whichever Worker isolate asked. A send that waits holds its message id in the session's
// in-flight map (whatsapp.ts), so a retry with the same client_message_id joins it instead of sending twice.

export interface PacingRule {
  /** Sends per second, sustained. */
  ratePerSecond: number;
  /** Sends that may go at once before pacing starts (the bucket's size). */
  burst: number;
  /** Up to this much random delay is added to each paced send (and owed by the next: spacing never drops under 1/rate). */
  jitterMs: number;
  /** The longest a send may be queued. */
  maxWaitMs: number;
}

export type Slot = { ok: true; waitMs: number } | { ok: false; retryAfterMs: number };

export class SendPacer {
  private tokens: number;
  private at: number;

  constructor(
    private readonly rule: PacingRule,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.tokens = rule.burst;
    this.at = now();
  }

  /**
   * Books the next send: how long it must wait, or (over the bound, `maxWaitMs` or the given one if
   * shorter) that it is refused and when to try again. A refused send books nothing.
   */
  reserve(maxWaitMs = this.rule.maxWaitMs): Slot {
    const now = this.now();
    const perMs = this.rule.ratePerSecond / 1000;
    this.tokens = Math.min(this.rule.burst, this.tokens + (now - this.at) * perMs);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true, waitMs: 0 };
    }
    const jitter = Math.floor(this.random() * this.rule.jitterMs);
    const waitMs = Math.ceil((1 - this.tokens) / perMs) + jitter;
    const bound = Math.min(maxWaitMs, this.rule.maxWaitMs);
    if (waitMs > bound) return { ok: false, retryAfterMs: waitMs - jitter - bound };
    // The jitter is owed as well: the next paced send comes a full interval after this one.
    this.tokens -= 1 + jitter * perMs;
    return { ok: true, waitMs };
  }
}

/** "20/60" → 20 sends per 60 s; "off" → undefined (no pacing); null when malformed. */
export function parsePace(value: string): { ratePerSecond: number } | undefined | null {
  if (value.trim().toLowerCase() === 'off') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)\s*$/.exec(value);
  if (!m || Number(m[1]) <= 0 || Number(m[2]) <= 0) return null;
  return { ratePerSecond: Number(m[1]) / Number(m[2]) };
}
