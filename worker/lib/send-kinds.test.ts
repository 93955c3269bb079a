// The pure half of the richer send kinds: vCards, keys and quotes built from stored rows, and the request
// hash, which must not change for the seed's text and today's media (a retry across a deploy stays a retry).
import { describe, expect, it } from 'vitest';
import { SendMessageBody } from '../../protocol/messages';
import { sha256Hex } from '../auth/credentials';
import { requestHashOf } from '../data/outbound';
import { commandExtras, forwardedOf, hashedExtras, mediaContentOf, messageKeyOf, quotedOf, sendContextOf, storedKindOf, vcardOf, type ReferencedRow } from './send-kinds';

const body = (b: Record<string, unknown>) => SendMessageBody.parse({ connection_id: 'c', to: '15550001111', ...b });
const row = (r: Partial<ReferencedRow>): ReferencedRow => ({
  providerMessageId: 'ABC',
  chatId: '15550001111@s.whatsapp.net',
  direction: 'inbound',
  fromJid: '15550001111@s.whatsapp.net',
  type: 'text',
  text: 'hello',
  content: null,
  proto: null,
  ...r,
});

describe('send kinds', () => {
  it('writes a vCard with the WhatsApp id of the number, escaping what vCard text must', () => {
    expect(vcardOf({ name: 'Doe; John, Jr.\\', phone: '+1 (555) 010-0001' })).toBe(
      'BEGIN:VCARD\nVERSION:3.0\nFN:Doe\\; John\\, Jr.\\\\\nTEL;type=CELL;type=VOICE;waid=15550100001:+15550100001\nEND:VCARD',
    );
  });

  it('keys a stored message as WhatsApp does: ours fromMe, theirs with the group participant', () => {
    expect(messageKeyOf(row({ direction: 'outbound', fromJid: null }))).toEqual({ id: 'ABC', remote_jid: '15550001111@s.whatsapp.net', from_me: true });
    expect(messageKeyOf(row({}))).toEqual({ id: 'ABC', remote_jid: '15550001111@s.whatsapp.net', from_me: false });
    expect(messageKeyOf(row({ chatId: '1203630001@g.us', fromJid: '15550002222@s.whatsapp.net' }))).toEqual({
      id: 'ABC',
      remote_jid: '1203630001@g.us',
      from_me: false,
      participant: '15550002222@s.whatsapp.net',
    });
  });

  it('quotes a received non-text message by its stored proto content, anything else by its text', () => {
    const location = { locationMessage: { degreesLatitude: 1, degreesLongitude: 2 } };
    expect(quotedOf(row({ type: 'location', text: null, content: location })).message).toEqual(location);
    expect(quotedOf(row({})).message).toEqual({ conversation: 'hello' });
    // Our own sends are rebuilt from what their rows keep.
    const ours = (r: Partial<ReferencedRow>) => quotedOf(row({ direction: 'outbound', fromJid: null, text: null, ...r })).message;
    expect(ours({ type: 'location', content: { location: { latitude: 1, longitude: 2, name: 'Here' } } })).toEqual({
      locationMessage: { degreesLatitude: 1, degreesLongitude: 2, name: 'Here', address: undefined },
    });
    expect(ours({ type: 'poll', text: 'Q', content: { poll: { name: 'Q', options: ['a', 'b'], selectable_count: 1 } } })).toEqual({
      pollCreationMessage: { name: 'Q', options: [{ optionName: 'a' }, { optionName: 'b' }], selectableOptionsCount: 1 },
    });
    expect(ours({ type: 'contacts', content: { contacts: [{ name: 'Bob', phone: '15550100001' }] } })).toEqual({
      contactMessage: { displayName: 'Bob', vcard: vcardOf({ name: 'Bob', phone: '15550100001' }) },
    });
    expect(ours({ type: 'image', text: 'a caption', content: { type: 'image', mimetype: 'image/png', filename: null, size: 1, sha256: 'x' } })).toEqual({
      imageMessage: { mimetype: 'image/png', caption: 'a caption' },
    });
    expect(ours({ type: 'reaction', text: '👍', content: { reaction: { message_id: 'A', emoji: '👍' } } })).toEqual({ conversation: '👍' });
  });

  it('quotes by the WhatsApp message a row keeps (proto), and rebuilds our own sends from content in the shape received messages have', () => {
    const location = { locationMessage: { degreesLatitude: 1, degreesLongitude: 2 } };
    // A received location: structured content, its proto beside it.
    expect(quotedOf(row({ type: 'location', text: null, content: { latitude: 1, longitude: 2 }, proto: location })).message).toEqual(location);
    expect(forwardedOf(row({ type: 'location', text: null, content: { latitude: 1, longitude: 2 }, proto: location }))?.message).toEqual(location);
    // Structured content alone is never taken for a WhatsApp message.
    expect(forwardedOf(row({ type: 'location', text: null, content: { latitude: 1, longitude: 2 } }))).toBeUndefined();
    const ours = (r: Partial<ReferencedRow>) => quotedOf(row({ direction: 'outbound', fromJid: null, text: null, ...r })).message;
    expect(ours({ type: 'location', content: { latitude: 1, longitude: 2, name: 'Here' } })).toEqual({
      locationMessage: { degreesLatitude: 1, degreesLongitude: 2, name: 'Here', address: undefined },
    });
    expect(ours({ type: 'poll', text: 'Q', content: { name: 'Q', options: ['a', 'b'], selectable_count: 1 } })).toEqual({
      pollCreationMessage: { name: 'Q', options: [{ optionName: 'a' }, { optionName: 'b' }], selectableOptionsCount: 1 },
    });
    const vcard = vcardOf({ name: 'Bob', phone: '15550100001' });
    expect(ours({ type: 'contacts', content: { contacts: [{ name: 'Bob', phones: [], vcard }] } })).toEqual({ contactMessage: { displayName: 'Bob', vcard } });
  });

  it('stores a send in the shape a received message of its kind has', () => {
    expect(storedKindOf(body({ location: { latitude: 1, longitude: 2, name: 'Here' } }))).toEqual({ type: 'location', text: 'Here', content: { latitude: 1, longitude: 2, name: 'Here' } });
    expect(storedKindOf(body({ poll: { name: 'Q', options: ['a', 'b'] } }))).toEqual({ type: 'poll', text: 'Q', content: { name: 'Q', options: ['a', 'b'], selectable_count: 0 } });
    expect(storedKindOf(body({ contacts: [{ name: 'Bob, B', phone: '+1 555 010-0001' }] }))).toEqual({
      type: 'contacts',
      text: null,
      content: { contacts: [{ name: 'Bob, B', phones: [{ number: '+15550100001', jid: '15550100001@s.whatsapp.net' }], vcard: vcardOf({ name: 'Bob, B', phone: '+1 555 010-0001' }) }] },
    });
    const file = { type: 'document', mimetype: 'application/pdf', filename: 'a.pdf', size: 3, sha256: 'ab' };
    expect(mediaContentOf(file)).toEqual({ mimetype: 'application/pdf', size: 3, filename: 'a.pdf', sha256: 'ab' });
    expect(mediaContentOf({ ...file, type: 'audio', mimetype: 'audio/ogg' }, { ptt: true })).toEqual({ mimetype: 'audio/ogg', size: 3, ptt: true, sha256: 'ab' });
    expect(sendContextOf(body({ message: 'hi @15550002222', mentions: ['15550002222'], reply_to: 'X' }))).toEqual({ replyTo: 'X', mentions: ['15550002222@s.whatsapp.net'] });
    expect(sendContextOf(body({ message: 'hi' }))).toEqual({});
  });

  it('forwards texts and received messages as they were, never our own sends of other kinds', () => {
    expect(forwardedOf(row({ direction: 'outbound', fromJid: null }))).toEqual({ key: { id: 'ABC', remote_jid: '15550001111@s.whatsapp.net', from_me: true }, message: { conversation: 'hello' } });
    const location = { locationMessage: { degreesLatitude: 1, degreesLongitude: 2 } };
    expect(forwardedOf(row({ type: 'location', text: null, content: location }))?.message).toEqual(location);
    expect(forwardedOf(row({ direction: 'outbound', type: 'image', content: { type: 'image', sha256: 'x' } }))).toBeUndefined();
    expect(forwardedOf(row({ type: 'image', content: null }))).toBeUndefined();
  });

  it('gives the runner structured content, the quote and the mentions as JIDs', () => {
    expect(commandExtras(body({ poll: { name: 'Q', options: ['a', 'b'] } }), {})).toEqual({ content: { kind: 'poll', name: 'Q', options: ['a', 'b'], selectable_count: 0 } });
    expect(commandExtras(body({ message: 'hi @15550002222', mentions: ['+1 555 000 2222'], reply_to: 'ABC' }), { replyTo: row({}) })).toEqual({
      quoted: { key: { id: 'ABC', remote_jid: '15550001111@s.whatsapp.net', from_me: false }, message: { conversation: 'hello' } },
      mentions: ['15550002222@s.whatsapp.net'],
    });
    expect(commandExtras(body({ message: 'plain' }), {})).toEqual({});
  });

  it('hashes a text or a file exactly as before, and every new field into the hash', async () => {
    expect(hashedExtras(body({ message: 'hi' }))).toBeUndefined();
    const seedHash = await requestHashOf({ to: '15550001111@s.whatsapp.net', message: 'hi', extras: hashedExtras(body({ message: 'hi' })) });
    expect(seedHash).toBe(await sha256Hex(JSON.stringify(['15550001111@s.whatsapp.net', 'hi', null])));
    const hash = (b: Record<string, unknown>) => requestHashOf({ to: 'x', message: b.message as string | undefined, extras: hashedExtras(body(b)) });
    const hashes = await Promise.all([
      hash({ location: { latitude: 1, longitude: 2 } }),
      hash({ location: { latitude: 1, longitude: 3 } }),
      hash({ message: 'hi', reply_to: 'A' }),
      hash({ message: 'hi', reply_to: 'B' }),
      hash({ reaction: { message_id: 'A', emoji: '👍' } }),
      hash({ reaction: { message_id: 'A', emoji: '' } }),
    ]);
    expect(new Set(hashes).size).toBe(hashes.length);
    expect(await hash({ location: { longitude: 2, latitude: 1 } })).toBe(hashes[0]);
  });
});
