// Whether a phone number has WhatsApp, asked once and remembered. WhatsApp's server acknowledges a message
// to a number without an account like any other, and it then goes nowhere: a gateway that answered "sent"
// would hide the mistake, so the runner refuses such a send (the API answers 400) before it goes out.
//
// One memory per runner: whether a number has WhatsApp is a fact about the number, not about the account
// asking. Positive answers are kept long (numbers rarely leave WhatsApp); negative ones briefly, so a number
// that registers is reachable a minute later. Lookups of one number at once share one query.
import { Memo } from './memo.js';

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
  private readonly memo: Memo<boolean>;

  constructor(opts: RegisteredNumbersOptions = {}) {
    const positive = opts.positiveTtlMs ?? 24 * 60 * 60_000;
    const negative = opts.negativeTtlMs ?? 60_000;
    this.memo = new Memo({ ttlMs: exists => (exists ? positive : negative), maxEntries: opts.maxEntries ?? 50_000, now: opts.now });
  }

  /** Whether `jid` (a phone-number user JID) has WhatsApp: from memory, or asked through `lookup`. */
  exists(jid: string, lookup: NumberLookup): Promise<boolean> {
    return this.memo.get(jid, lookup);
  }
}
