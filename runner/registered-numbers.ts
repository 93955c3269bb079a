// Whether a phone number has WhatsApp, asked once and remembered. WhatsApp's server acknowledges a message
// to a number without an account like any other, and it then goes nowhere: a gateway that answered "sent"
// would hide the mistake, so the runner refuses such a send (the API answers 400) before it goes out.
//
// One memory per runner: whether a number has WhatsApp is a fact about the number, not about the account
// asking. Positive answers are kept long (numbers rarely leave WhatsApp); negative ones briefly, so a number
// that registers is reachable a minute later. Lookups of one number at once share one query.

export type NumberLookup = (jid: string) => Promise<boolean>;

export type RegisteredNumbersOptions = {
  /** How long "has WhatsApp" is believed (default 24 h). */
  positiveTtlMs?: number;
  /** How long "has no WhatsApp" is believed (default 60 s). */
  negativeTtlMs?: number;
  /** Numbers remembered at most; the oldest answer goes first (default 50 000). */
  maxEntries?: number;
  now?: () => number;
};

export class RegisteredNumbers {
  private readonly known = new Map<string, { exists: boolean; at: number }>();
  private readonly asking = new Map<string, Promise<boolean>>();
  private readonly positiveTtlMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(opts: RegisteredNumbersOptions = {}) {
    this.positiveTtlMs = opts.positiveTtlMs ?? 24 * 60 * 60_000;
    this.negativeTtlMs = opts.negativeTtlMs ?? 60_000;
    this.maxEntries = opts.maxEntries ?? 50_000;
    this.now = opts.now ?? Date.now;
  }

  /** Whether `jid` (a phone-number user JID) has WhatsApp: from memory, or asked through `lookup`. */
  async exists(jid: string, lookup: NumberLookup): Promise<boolean> {
    const hit = this.known.get(jid);
    if (hit && this.now() - hit.at < (hit.exists ? this.positiveTtlMs : this.negativeTtlMs)) return hit.exists;
    let asking = this.asking.get(jid);
    if (!asking) {
      asking = lookup(jid)
        .then(exists => {
          this.remember(jid, exists);
          return exists;
        })
        .finally(() => this.asking.delete(jid));
      this.asking.set(jid, asking);
    }
    return asking;
  }

  private remember(jid: string, exists: boolean): void {
    this.known.delete(jid); // re-inserted last: the map's order is the age order
    this.known.set(jid, { exists, at: this.now() });
    if (this.known.size > this.maxEntries) this.known.delete(this.known.keys().next().value!);
  }
}
