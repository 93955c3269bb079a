// One person, one chat. WhatsApp is moving users from phone-number addressing (…@s.whatsapp.net) to LIDs
// (…@lid): the same contact's messages may name them either way, with or without the other form beside
// it. Baileys keeps the LID ↔ phone-number pairs it learns (envelopes, usync, app-state sync) in the auth
// state; where a message names only a LID, this fills in the phone number from there, so every later
// mapping (whatsapp-events.ts) sees the same pair a message with both forms would carry.
import { isLidUser, jidDecode, type WAMessage } from '@whiskeysockets/baileys';

/** The phone-number user of a LID user, if known. */
export type PhoneUserOfLid = (lidUser: string) => string | undefined;

const phoneJidOf = (lid: string | null | undefined, lookup: PhoneUserOfLid): string | undefined => {
  if (!lid || !isLidUser(lid)) return undefined;
  const user = jidDecode(lid)?.user;
  const pn = user ? lookup(user) : undefined;
  return pn ? `${pn}@s.whatsapp.net` : undefined;
};

/** A send to a LID: `{ chat_jid }`, the person's phone-number JID where their chat lives, when known. */
export const chatOfLid = (target: string, lookup: PhoneUserOfLid): { chat_jid?: string } => {
  const pn = phoneJidOf(target, lookup);
  return pn ? { chat_jid: pn } : {};
};

/** Sets `remoteJidAlt` / `participantAlt` of LID-only message keys where the phone number is known. */
export function fillPhoneNumbers(messages: readonly WAMessage[], lookup: PhoneUserOfLid): void {
  for (const m of messages) {
    const key = m.key as WAMessage['key'] & { remoteJidAlt?: string; participantAlt?: string };
    if (!key) continue;
    if (!key.remoteJidAlt || isLidUser(key.remoteJidAlt)) {
      const pn = phoneJidOf(key.remoteJid, lookup);
      if (pn) key.remoteJidAlt = pn;
    }
    if (key.participant && (!key.participantAlt || isLidUser(key.participantAlt))) {
      const pn = phoneJidOf(key.participant, lookup);
      if (pn) key.participantAlt = pn;
    }
  }
}
