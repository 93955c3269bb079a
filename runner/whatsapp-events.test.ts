import { UNTRUSTED_SERVER_CODE } from './noise-trust.js';
import { DisconnectReason, proto, type WAMessage } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { RunnerEvent } from '../protocol/runner.js';
import {
  ackEvent,
  chatIdOf,
  ACCOUNT_SIGNATURE_REFUSED,
  closePolicy,
  connectionStatusEvent,
  deliveryStatusOf,
  historyEvents,
  nameGroupChats,
  phoneNumberFromJid,
  qrEvent,
  qrLifetimeMs,
  statusEvents,
  toWireMessage,
  MAX_TEXT_BYTES,
  MAX_PUSH_NAME_BYTES,
  upsertEvents,
} from './whatsapp-events.js';

const NOW = Date.parse('2026-01-02T03:04:05.000Z');
const msg = (over: Partial<WAMessage> & { key?: Partial<WAMessage['key']> } = {}): WAMessage =>
  ({
    key: { remoteJid: '15550001111@s.whatsapp.net', fromMe: false, id: 'ABC123', ...over.key },
    message: over.message === undefined ? { conversation: 'hello' } : over.message,
    messageTimestamp: over.messageTimestamp ?? 1_700_000_000,
    pushName: over.pushName ?? 'Ivan',
  }) as WAMessage;

describe('messages', () => {
  it('an inbound text becomes a live message.upsert with a stable id', () => {
    const [ev] = upsertEvents({ type: 'notify', messages: [msg()] }, '15559990000:3@s.whatsapp.net', NOW);
    expect(RunnerEvent.parse(ev)).toEqual({
      id: 'msg:ABC123',
      at: '2026-01-02T03:04:05.000Z',
      type: 'message.upsert',
      message: {
        provider_message_id: 'ABC123',
        chat_id: '15550001111@s.whatsapp.net',
        direction: 'inbound',
        from: '15550001111@s.whatsapp.net',
        to: '15559990000@s.whatsapp.net',
        push_name: 'Ivan',
        type: 'text',
        text: 'hello',
        content: null,
        proto: null,
        reply_to: null,
        mentions: null,
        timestamp: new Date(1_700_000_000_000).toISOString(),
        source: 'live',
      },
    });
  });

  it('our own messages are outbound; append is history', () => {
    const [ev] = upsertEvents({ type: 'append', messages: [msg({ key: { fromMe: true, id: 'OWN1' } })] }, null, NOW);
    expect(ev).toMatchObject({ message: { direction: 'outbound', from: null, to: '15550001111@s.whatsapp.net', source: 'history', push_name: null } });
  });

  it('extended text, captions and other types keep their text and content', () => {
    expect(toWireMessage(msg({ message: { extendedTextMessage: { text: 'a link' } } }), 'live')).toMatchObject({ type: 'text', text: 'a link' });
    const image = toWireMessage(msg({ message: { imageMessage: { caption: 'pic', mimetype: 'image/jpeg' } } }), 'live');
    // Structured content (protocol/inbound-content.ts), and Baileys' own beside it for quoting and forwarding.
    expect(image).toMatchObject({
      type: 'image',
      text: 'pic',
      content: { mimetype: 'image/jpeg', size: null, sha256: null },
      proto: { imageMessage: { caption: 'pic', mimetype: 'image/jpeg' } },
    });
    const other = toWireMessage(msg({ message: { buttonsResponseMessage: { selectedButtonId: 'b1' } } }), 'live');
    expect(other).toMatchObject({ type: 'buttonsResponse', content: { buttonsResponseMessage: { selectedButtonId: 'b1' } } });
    const wrapped = toWireMessage(msg({ message: { ephemeralMessage: { message: { conversation: 'secret' } } } }), 'live');
    expect(wrapped).toMatchObject({ type: 'text', text: 'secret' });
  });

  it('a text or push name longer than any WhatsApp app sends is cut in UTF-8 bytes, on a character boundary', () => {
    const wire = toWireMessage(msg({ message: { conversation: '中'.repeat(100_000) }, pushName: '名'.repeat(1000) }), 'live')!;
    expect(new TextEncoder().encode(wire.text!).length).toBeLessThanOrEqual(MAX_TEXT_BYTES);
    expect(wire.text!.length).toBe(Math.floor(MAX_TEXT_BYTES / 3));
    expect(new TextEncoder().encode(wire.push_name!).length).toBeLessThanOrEqual(MAX_PUSH_NAME_BYTES);
    // WhatsApp's own longest text (65,536 characters) goes through whole, in any script.
    expect(toWireMessage(msg({ message: { conversation: '中'.repeat(65_536) } }), 'live')!.text).toHaveLength(65_536);
  });

  it('protocol messages, reactions, status broadcasts and empty messages are not chat messages', () => {
    expect(toWireMessage(msg({ message: { protocolMessage: { type: 0 } } }), 'live')).toBeNull();
    expect(toWireMessage(msg({ message: { reactionMessage: { text: '👍' } } }), 'live')).toBeNull();
    expect(toWireMessage(msg({ key: { remoteJid: 'status@broadcast' } }), 'live')).toBeNull();
    expect(toWireMessage(msg({ message: null as never }), 'live')).toBeNull();
  });

  it('device suffixes are dropped; a LID chat is named by its phone-number JID when known', () => {
    expect(chatIdOf({ remoteJid: '15550001111:7@s.whatsapp.net' })).toBe('15550001111@s.whatsapp.net');
    expect(chatIdOf({ remoteJid: '123456789@lid', remoteJidAlt: '15550001111@s.whatsapp.net' } as never)).toBe('15550001111@s.whatsapp.net');
    expect(chatIdOf({ remoteJid: '123456789@lid' })).toBe('123456789@lid');
    const group = toWireMessage(msg({ key: { remoteJid: '1203630@g.us', participant: '15550002222:2@s.whatsapp.net' } }), 'live');
    expect(group).toMatchObject({ chat_id: '1203630@g.us', from: '15550002222@s.whatsapp.net' });
  });

  it('history sync keeps only the newest 50 messages of each chat', () => {
    const many = Array.from({ length: 70 }, (_, i) => msg({ key: { id: `A${i}` }, messageTimestamp: 1_700_000_000 + i }));
    const other = [msg({ key: { id: 'B0', remoteJid: '15550003333@s.whatsapp.net' } })];
    const events = historyEvents([...many.reverse(), ...other], null, NOW);
    expect(events).toHaveLength(51);
    const ids = events.map(e => (e.type === 'message.upsert' ? e.message.provider_message_id : ''));
    expect(ids).toContain('A69');
    expect(ids).toContain('A20');
    expect(ids).not.toContain('A19');
    expect(ids).toContain('B0');
    expect(events.every(e => e.type === 'message.upsert' && e.message.source === 'history')).toBe(true);
  });
});

describe('receipts', () => {
  it('Baileys statuses map to ours; pending is not reported', () => {
    expect([0, 1, 2, 3, 4, 5, undefined].map(deliveryStatusOf)).toEqual(['failed', null, 'sent', 'delivered', 'read', 'played', null]);
  });

  it('messages.update becomes message.status with ids stable per status', () => {
    const events = statusEvents(
      [
        { key: { remoteJid: '15550001111@s.whatsapp.net', id: 'M1', fromMe: true }, update: { status: 3 } },
        { key: { remoteJid: '15550001111@s.whatsapp.net', id: 'M1', fromMe: true }, update: { status: 4 } },
        { key: { remoteJid: '15550001111@s.whatsapp.net', id: 'M2', fromMe: true }, update: { starred: true } },
      ],
      NOW,
    );
    expect(events.map(e => RunnerEvent.parse(e))).toEqual([
      { id: 'st:M1:delivered', at: '2026-01-02T03:04:05.000Z', type: 'message.status', provider_message_id: 'M1', chat_id: '15550001111@s.whatsapp.net', status: 'delivered' },
      { id: 'st:M1:read', at: '2026-01-02T03:04:05.000Z', type: 'message.status', provider_message_id: 'M1', chat_id: '15550001111@s.whatsapp.net', status: 'read' },
    ]);
  });
});

describe('server acks and folded receipts', () => {
  it('a successful server ack is "sent", an ack with an error is "failed"', () => {
    expect(ackEvent({ id: 'M1', from: '15550001111@s.whatsapp.net' }, NOW)).toMatchObject({ id: 'st:M1:sent', status: 'sent', chat_id: '15550001111@s.whatsapp.net' });
    expect(ackEvent({ id: 'M1', from: '15550001111@s.whatsapp.net', error: '479' }, NOW)).toMatchObject({ id: 'st:M1:failed', status: 'failed' });
    expect(ackEvent({ from: '15550001111@s.whatsapp.net' })).toBeNull();
  });

  it('a receipt Baileys folded into the upsert of our own message still becomes a status event', () => {
    const own = { ...msg({ key: { fromMe: true, id: 'OWN2' } }), status: 3 } as WAMessage;
    const events = upsertEvents({ type: 'append', messages: [own] }, null, NOW);
    expect(events.map(e => e.id)).toEqual(['msg:OWN2', 'st:OWN2:delivered']);
    const theirs = { ...msg(), status: 3 } as WAMessage;
    expect(upsertEvents({ type: 'notify', messages: [theirs] }, null, NOW).map(e => e.id)).toEqual(['msg:ABC123']);
  });
});

describe('connection', () => {
  it('phone numbers come from creds.me.id without the device', () => {
    expect(phoneNumberFromJid('15551234567:3@s.whatsapp.net')).toBe('+15551234567');
    expect(phoneNumberFromJid('15551234567@s.whatsapp.net')).toBe('+15551234567');
    expect(phoneNumberFromJid('12345@lid')).toBeNull();
    expect(phoneNumberFromJid(undefined)).toBeNull();
  });

  it('status changes are one-off facts with unique ids; QR ids follow the ref', () => {
    const a = connectionStatusEvent('connected', { phone_number: '+1555' }, NOW);
    const b = connectionStatusEvent('connected', { phone_number: '+1555' }, NOW);
    expect(RunnerEvent.parse(a)).toMatchObject({ type: 'connection.status', status: 'connected', phone_number: '+1555' });
    expect(a.id).not.toBe(b.id);
    const qr = qrEvent('2@ref,noise,identity,adv', NOW + 60_000, NOW);
    expect(RunnerEvent.parse(qr)).toEqual({ id: 'qr:2@ref', at: '2026-01-02T03:04:05.000Z', type: 'qr', qr: '2@ref,noise,identity,adv', expires_at: '2026-01-02T03:05:05.000Z' });
    expect([qrLifetimeMs(0), qrLifetimeMs(1), qrLifetimeMs(0, 5000)]).toEqual([60_000, 20_000, 5000]);
  });

  it('close policy: restart now, reconnect, stop on logout/conflict, qr_timeout only while unregistered', () => {
    const reg = { registered: true, sawQr: false };
    const fresh = { registered: false, sawQr: true };
    expect(closePolicy(DisconnectReason.restartRequired, fresh)).toEqual({ action: 'restart-now' });
    // A link whose account signature Baileys refused (any code): never retried into.
    expect(closePolicy(500, { ...fresh, message: ACCOUNT_SIGNATURE_REFUSED })).toEqual({ action: 'stop', reason: 'untrusted_server' });
    expect(closePolicy(DisconnectReason.loggedOut, reg)).toEqual({ action: 'logged-out' });
    expect(closePolicy(DisconnectReason.connectionReplaced, reg)).toEqual({ action: 'replaced' });
    expect(closePolicy(DisconnectReason.timedOut, fresh)).toEqual({ action: 'qr-timeout' });
    expect(closePolicy(DisconnectReason.timedOut, reg)).toEqual({ action: 'reconnect', reason: 'timed_out' });
    expect(closePolicy(DisconnectReason.connectionClosed, reg)).toEqual({ action: 'reconnect', reason: 'connection_closed' });
    expect(closePolicy(DisconnectReason.unavailableService, reg).action).toBe('reconnect');
    expect(closePolicy(DisconnectReason.forbidden, reg)).toEqual({ action: 'stop', reason: 'forbidden' });
    expect(closePolicy(UNTRUSTED_SERVER_CODE, fresh)).toEqual({ action: 'stop', reason: 'untrusted_server' });
  });

  it('group messages carry the subject when it is known; unknown groups are reported', () => {
    const group = upsertEvents({ type: 'notify', messages: [msg({ key: { remoteJid: '120363000000000009@g.us', participant: '15550002222@s.whatsapp.net' } })] });
    const other = upsertEvents({ type: 'notify', messages: [msg({ key: { remoteJid: '120363000000000010@g.us', participant: '15550002222@s.whatsapp.net' } })] });
    const oneToOne = upsertEvents({ type: 'notify', messages: [msg({})] });
    const subjects: Record<string, string> = { '120363000000000009@g.us': 'Team' };
    const unknown = nameGroupChats([...group, ...other, ...oneToOne], (jid) => subjects[jid]);
    expect(group[0]).toMatchObject({ message: { chat_name: 'Team' } });
    expect(other[0]!.type === 'message.upsert' && other[0]!.message.chat_name).toBeUndefined();
    expect(oneToOne[0]!.type === 'message.upsert' && oneToOne[0]!.message.chat_name).toBeUndefined();
    expect([...unknown]).toEqual(['120363000000000010@g.us']);
  });
});

describe('received kinds, as Baileys decodes them', () => {
  // Through the proto encoder and decoder, so 64-bit fields are Longs and bytes Uint8Arrays, as from a socket.
  const decoded = (message: Record<string, unknown>) => proto.Message.decode(proto.Message.encode(proto.Message.fromObject(message)).finish());
  const wire = (message: Record<string, unknown>) => toWireMessage(msg({ message: decoded(message) }), 'live')!;

  it('a location, contacts, a poll (v3) and a sticker arrive structured, with their proto beside', () => {
    expect(wire({ locationMessage: { degreesLatitude: 24.86, degreesLongitude: 67.0, name: 'Office' } })).toMatchObject({
      type: 'location',
      text: null,
      content: { latitude: 24.86, longitude: 67, name: 'Office' },
      proto: { locationMessage: { degreesLatitude: 24.86, name: 'Office' } },
    });
    const vcard = 'BEGIN:VCARD\nVERSION:3.0\nFN:Bob\nTEL;type=CELL;waid=15550100002:+15550100002\nEND:VCARD';
    expect(wire({ contactMessage: { displayName: 'Bob', vcard } })).toMatchObject({
      type: 'contacts',
      content: { contacts: [{ name: 'Bob', phones: [{ number: '+15550100002', jid: '15550100002@s.whatsapp.net' }], vcard }] },
    });
    expect(wire({ pollCreationMessageV3: { name: 'Lunch?', options: [{ optionName: 'Pizza' }, { optionName: 'Sushi' }], selectableOptionsCount: 1 } })).toMatchObject({
      type: 'poll',
      content: { name: 'Lunch?', options: ['Pizza', 'Sushi'], selectable_count: 1 },
    });
    const sha = Buffer.alloc(32, 7);
    const sticker = wire({ stickerMessage: { mimetype: 'image/webp', fileLength: 5000, fileSha256: sha, width: 512, height: 512, mediaKey: Buffer.alloc(32) } });
    expect(sticker).toMatchObject({ type: 'sticker', content: { mimetype: 'image/webp', size: 5000, width: 512, height: 512, sha256: sha.toString('hex') } });
    expect(sticker.content).not.toHaveProperty('mediaKey');
  });

  it('a quoted reply and mentions name the quoted id and the mentioned JIDs', () => {
    const reply = wire({
      extendedTextMessage: { text: 'yes @15550002222', contextInfo: { stanzaId: 'Q1', participant: '15550001111@s.whatsapp.net', quotedMessage: { conversation: 'lunch?' }, mentionedJid: ['15550002222@s.whatsapp.net'] } },
    });
    expect(reply).toMatchObject({ type: 'text', text: 'yes @15550002222', content: null, reply_to: 'Q1', mentions: ['15550002222@s.whatsapp.net'] });
    expect(wire({ imageMessage: { caption: 'this', mimetype: 'image/jpeg', contextInfo: { stanzaId: 'Q2' } } })).toMatchObject({ type: 'image', reply_to: 'Q2', mentions: null });
  });

  it('our own messages from other devices go through the same mapping', () => {
    const own = toWireMessage(msg({ key: { fromMe: true, id: 'OWN2' }, message: decoded({ locationMessage: { degreesLatitude: 1, degreesLongitude: 2 } }) }), 'live');
    expect(own).toMatchObject({ direction: 'outbound', type: 'location', content: { latitude: 1, longitude: 2 } });
  });
});
