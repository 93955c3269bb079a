// Which WhatsApp account a phone number reaches, asked once and remembered. WhatsApp's server acknowledges a
// message to a number without an account like any other, and it then goes nowhere: a gateway that answered
// "sent" would hide the mistake, so the runner refuses such a send (the API answers 400) before it goes out.
// And a number may be registered under another form than the one people dial (Brazil's ninth digit: an
// account from before 2016 is 55 11 8765-4321 at WhatsApp, dialled 55 11 98765-4321): WhatsApp's lookup
// answers the registered JID, and that is where the message must go.
//
// One memory per runner: whether a number has WhatsApp is a fact about the number, not about the account
// asking. Positive answers are kept long (numbers rarely leave WhatsApp); negative ones briefly, so a number
// that registers is reachable a minute later. Lookups of one number at once share one query.
import { Memo } from './memo.js';

/** The registered JID of a phone-number JID, or null when the number has no WhatsApp. */
export type NumberLookup = (jid: string) => Promise<string | null>;

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
  private readonly memo: Memo<string | null>;

  constructor(opts: RegisteredNumbersOptions = {}) {
    const positive = opts.positiveTtlMs ?? 24 * 60 * 60_000;
    const negative = opts.negativeTtlMs ?? 60_000;
    this.memo = new Memo<string | null>({ ttlMs: jid => (jid ? positive : negative), maxEntries: opts.maxEntries ?? 50_000, now: opts.now });
  }

  /** The JID WhatsApp knows `jid` (a phone-number user JID) under, or null: from memory, or asked through `lookup`. */
  registeredJid(jid: string, lookup: NumberLookup): Promise<string | null> {
    return this.memo.get(jid, lookup);
  }

  /** What is remembered of `jid` (undefined: nothing, or no longer believed). */
  known(jid: string): string | null | undefined {
    return this.memo.peek(jid);
  }

  /** Remembers an answer from a lookup of several numbers at once (chat-actions.ts). */
  learn(jid: string, registered: string | null): void {
    this.memo.set(jid, registered);
  }
}
