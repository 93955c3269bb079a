// What the account knows about the people it talks to, as contacts.upsert events: names from its address
// book (history sync, app-state sync), the names people set themselves (push names, which arrive with
// their messages), and the LID ↔ phone-number pairs WhatsApp hands out. Each person is keyed by the JID
// their chat lives under: the phone number's when known, else the LID (see lid-mapping.ts).
import { createHash } from 'node:crypto';
import { isLidUser, isPnUser, jidNormalizedUser, type Contact, type WAMessage } from '@whiskeysockets/baileys';
import { MAX_CONTACTS_PER_EVENT, type RunnerEvent, type WireContact } from '../protocol/runner.js';
import { truncateUtf8 } from '../protocol/utf8.js';
import { BoundedMap } from './bounded-map.js';
import { clock } from './clock.js';

const MAX_NAME_BYTES = 256;
/** Push names and pairs remembered per session, so only a change is reported (one event per new fact, not per message). */
const PUSH_NAMES_REMEMBERED = 10_000;

const name = (v: string | null | undefined) => {
  const t = v?.trim();
  return t ? truncateUtf8(t, MAX_NAME_BYTES) : undefined;
};
const user = (jid: string | null | undefined) => (jid ? jidNormalizedUser(jid) : undefined);

/** One person from what Baileys says about them, or undefined for groups, broadcasts and the like. */
export function wireContact(c: Partial<Contact>): WireContact | undefined {
  const ids = [c.id, c.phoneNumber, c.lid].map(user).filter((j): j is string => !!j && j.length <= 128);
  const pn = ids.find((j) => isPnUser(j));
  const lid = ids.find((j) => isLidUser(j));
  const jid = pn ?? lid;
  if (!jid) return undefined;
  const out: WireContact = { jid };
  if (lid && lid !== jid) out.lid = lid;
  const saved = name(c.name);
  const own = name(c.notify);
  const verified = name(c.verifiedName);
  if (saved) out.name = saved;
  if (own) out.push_name = own;
  if (verified) out.verified_name = verified;
  return out;
}

/** contacts.upsert events for what Baileys reported (each at most MAX_CONTACTS_PER_EVENT), ids stable per content. */
export function contactEvents(contacts: ReadonlyArray<Partial<Contact>>, now = clock.now()): RunnerEvent[] {
  const wire = contacts.map(wireContact).filter((c): c is WireContact => !!c && Object.keys(c).length > 1);
  const out: RunnerEvent[] = [];
  for (let i = 0; i < wire.length; i += MAX_CONTACTS_PER_EVENT) {
    const chunk = wire.slice(i, i + MAX_CONTACTS_PER_EVENT);
    const id = `ct:${createHash('sha256').update(JSON.stringify(chunk)).digest('base64url').slice(0, 32)}`;
    out.push({ id, at: new Date(now).toISOString(), type: 'contacts.upsert', contacts: chunk });
  }
  return out;
}

/** LID ↔ phone-number pairs as contacts (the pair alone: no names). */
export const mappingContacts = (pairs: ReadonlyArray<{ lid: string; pn: string }>): Array<Partial<Contact>> =>
  pairs.map((p) => ({ id: p.pn, lid: p.lid }));

/** The LID ↔ number pairs a message key names (chat and participant, each with its other form). */
const pairsOf = (key: WAMessage['key']): Array<{ lid: string; pn: string }> => {
  const k = key as WAMessage['key'] & { remoteJidAlt?: string; participantAlt?: string };
  const out: Array<{ lid: string; pn: string }> = [];
  for (const [a, b] of [[k.remoteJid, k.remoteJidAlt], [k.participant, k.participantAlt]] as const) {
    const [x, y] = [user(a), user(b)];
    if (!x || !y) continue;
    if (isLidUser(x) && isPnUser(y)) out.push({ lid: x, pn: y });
    else if (isPnUser(x) && isLidUser(y)) out.push({ lid: y, pn: x });
  }
  return out;
};

/**
 * What a session's messages say about people, reported once: the LID ↔ number pairs their keys carry
 * (Baileys learns these from envelopes without an event of its own) and push names that are new or changed.
 */
export class PeopleSeen {
  private readonly names = new BoundedMap<string, string>(PUSH_NAMES_REMEMBERED);
  private readonly pairs = new BoundedMap<string, string>(PUSH_NAMES_REMEMBERED);

  changed(messages: readonly WAMessage[], events: readonly RunnerEvent[]): Array<Partial<Contact>> {
    const out: Array<Partial<Contact>> = [];
    for (const m of messages) {
      if (!m.key) continue;
      for (const { lid, pn } of pairsOf(m.key)) {
        if (this.pairs.get(lid) === pn) continue;
        this.pairs.set(lid, pn);
        out.push({ id: pn, lid });
      }
    }
    for (const e of events) {
      if (e.type !== 'message.upsert' || e.message.direction !== 'inbound' || !e.message.from || !e.message.push_name) continue;
      const { from, push_name } = e.message;
      if (this.names.get(from) === push_name) continue;
      this.names.set(from, push_name);
      out.push({ id: from, notify: push_name });
    }
    return out;
  }
}
