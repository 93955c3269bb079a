// What a sandbox contact's message (SandboxMessageBody) asks of the emulator's control API: a text or a
// WhatsApp message as proto JSON (a location, contact cards, a quoted reply) for POST /contacts/:phone/messages,
// or a poll or a reaction for POST /contacts/:phone/message-changes, which builds them as WhatsApp's apps do
// (a poll with its secret, a reaction naming its target's key). Pure: the route says whose message a reply or
// a reaction points at (the phone's, or the contact's own).
import type { SandboxMessageBody } from '../../protocol/sandbox';
import { vcardOf } from '../lib/send-kinds';

export type EmulatorRequest =
  | { path: 'messages'; body: { to: string; text: string } | { to: string; message: Record<string, unknown> } }
  | { path: 'message-changes'; body: Record<string, unknown> };

/**
 * The emulator request for `b`, sent by `contact` to `phone` (numbers). `targetFromPhone`: whether the
 * message `reply_to` or `reaction.message_id` names was sent by the phone (else it is the contact's own).
 */
export function contactMessageRequest(b: SandboxMessageBody, who: { phone: string; contact: string; targetFromPhone: boolean }): EmulatorRequest {
  const to = b.to;
  const targetSender = who.targetFromPhone ? who.phone : who.contact;
  if (b.text !== undefined && b.reply_to === undefined) return { path: 'messages', body: { to, text: b.text } };
  if (b.text !== undefined) {
    // A reply quotes by id, naming who sent the quoted message, as WhatsApp's apps do.
    const contextInfo = { stanzaId: b.reply_to, participant: `${targetSender}@s.whatsapp.net`, quotedMessage: { conversation: '' } };
    return { path: 'messages', body: { to, message: { extendedTextMessage: { text: b.text, contextInfo } } } };
  }
  if (b.location) {
    const { latitude, longitude, name, address } = b.location;
    return { path: 'messages', body: { to, message: { locationMessage: { degreesLatitude: latitude, degreesLongitude: longitude, name, address } } } };
  }
  if (b.contacts) {
    const cards = b.contacts.map((c) => ({ displayName: c.name, vcard: vcardOf(c) }));
    const message = cards.length === 1 ? { contactMessage: cards[0] } : { contactsArrayMessage: { displayName: `${cards.length} contacts`, contacts: cards } };
    return { path: 'messages', body: { to, message } };
  }
  if (b.poll) {
    const { name, options, selectable_count } = b.poll;
    return { path: 'message-changes', body: { kind: 'poll', to, poll: { name, options, selectableCount: selectable_count ?? 0 } } };
  }
  const reaction = b.reaction!;
  return {
    path: 'message-changes',
    body: { kind: 'reaction', to, target: reaction.message_id, emoji: reaction.emoji, targetSender },
  };
}
