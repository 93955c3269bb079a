// The mapping from WhatsApp's message kinds to the stored content shapes, on plain proto JSON (what older
// runners sent, and what the runner's JSON fallback holds). Baileys' decoded instances: runner/whatsapp-events.test.ts.
import { describe, expect, it } from 'vitest';
import { inboundTypeOf, messageContextOf, parseVcard, protoBytesHex, protoNumber, storedFromProtoJson, structuredContentOf } from './inbound-content';

describe('vCards', () => {
  it('reads the name and each TEL with its waid, as WhatsApp writes them', () => {
    const vcard = 'BEGIN:VCARD\nVERSION:3.0\nN:Example;Alice;;;\nFN:Alice Example\nitem1.TEL;waid=15550100001:+1 555-010-0001\nitem1.X-ABLabel:Mobile\nTEL;type=HOME:+44 20 7946 0000\nEND:VCARD';
    expect(parseVcard(vcard)).toEqual({
      name: 'Alice Example',
      phones: [
        { number: '+1 555-010-0001', jid: '15550100001@s.whatsapp.net' },
        { number: '+44 20 7946 0000', jid: null },
      ],
    });
  });

  it('unescapes text, unfolds folded lines, takes N without FN, and CRLF line ends', () => {
    expect(parseVcard('BEGIN:VCARD\r\nFN:Doe\\; John\\, Jr.\\\\\r\nTEL;type=CELL;type=VOICE;waid=15550100001:+15550100001\r\nEND:VCARD').name).toBe('Doe; John, Jr.\\');
    expect(parseVcard('BEGIN:VCARD\nN:Smith;Jane\nTEL;TYPE=cell;WAID=49\n 1701234567:+491701234567\nEND:VCARD')).toEqual({
      name: 'Jane Smith',
      phones: [{ number: '+491701234567', jid: '491701234567@s.whatsapp.net' }],
    });
    expect(parseVcard('garbage')).toEqual({ name: null, phones: [] });
    expect(parseVcard(`BEGIN:VCARD\n${'TEL:+1555\n'.repeat(100)}END:VCARD`).phones).toHaveLength(10);
  });
});

describe('kinds', () => {
  it('names kinds as send-message does, others by their WhatsApp name', () => {
    expect(['conversation', 'extendedTextMessage', 'imageMessage', 'documentMessage', 'audioMessage', 'videoMessage'].map(inboundTypeOf)).toEqual([
      'text',
      'text',
      'image',
      'document',
      'audio',
      'video',
    ]);
    expect(['locationMessage', 'liveLocationMessage', 'contactMessage', 'contactsArrayMessage', 'pollCreationMessage', 'pollCreationMessageV3', 'stickerMessage'].map(inboundTypeOf)).toEqual([
      'location',
      'location',
      'contacts',
      'contacts',
      'poll',
      'poll',
      'sticker',
    ]);
    expect(inboundTypeOf('buttonsResponseMessage')).toBe('buttonsResponse');
  });

  it('a location, a live location', () => {
    expect(structuredContentOf('locationMessage', { degreesLatitude: 24.86, degreesLongitude: 67, name: 'Office', address: '' })).toEqual({ latitude: 24.86, longitude: 67, name: 'Office' });
    expect(structuredContentOf('liveLocationMessage', { degreesLatitude: 1, degreesLongitude: 2 })).toEqual({ latitude: 1, longitude: 2, live: true });
  });

  it('one contact card or several', () => {
    const vcard = 'BEGIN:VCARD\nFN:Bob\nTEL;waid=15550100002:+15550100002\nEND:VCARD';
    expect(structuredContentOf('contactMessage', { displayName: 'Bobby', vcard })).toEqual({
      contacts: [{ name: 'Bob', phones: [{ number: '+15550100002', jid: '15550100002@s.whatsapp.net' }], vcard }],
    });
    expect(structuredContentOf('contactsArrayMessage', { displayName: '2 contacts', contacts: [{ displayName: 'X', vcard: 'BEGIN:VCARD\nEND:VCARD' }, { vcard }] })).toEqual({
      contacts: [
        { name: 'X', phones: [], vcard: 'BEGIN:VCARD\nEND:VCARD' },
        { name: 'Bob', phones: [{ number: '+15550100002', jid: '15550100002@s.whatsapp.net' }], vcard },
      ],
    });
  });

  it('bounds what a hostile sender can grow: cards, vCards, options, names', () => {
    const big = `BEGIN:VCARD\nFN:X\nNOTE:${'n'.repeat(20_000)}\nEND:VCARD`;
    const many = structuredContentOf('contactsArrayMessage', { contacts: Array.from({ length: 100 }, () => ({ vcard: big })) }) as { contacts: { vcard: string }[] };
    expect(many.contacts.length).toBe(8);
    expect(many.contacts[0]!.vcard.length).toBe(8 * 1024);
    const poll = structuredContentOf('pollCreationMessage', { name: 'q'.repeat(5000), options: Array.from({ length: 100 }, () => ({ optionName: 'o'.repeat(1000) })) }) as any;
    expect([poll.name.length, poll.options.length, poll.options[0].length]).toEqual([1024, 32, 256]);
  });

  it('a poll of any version keeps its options', () => {
    const poll = { name: 'Lunch?', options: [{ optionName: 'Pizza' }, { optionName: 'Sushi' }], selectableOptionsCount: 1 };
    for (const key of ['pollCreationMessage', 'pollCreationMessageV2', 'pollCreationMessageV3']) {
      expect(structuredContentOf(key, poll)).toEqual({ name: 'Lunch?', options: ['Pizza', 'Sushi'], selectable_count: 1 });
    }
    expect(structuredContentOf('pollCreationMessage', { name: 'Q' })).toEqual({ name: 'Q', options: [], selectable_count: 0 });
  });

  it('files: metadata only, numbers and hashes as proto JSON writes them', () => {
    const sha = Buffer.from('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'hex');
    expect(structuredContentOf('documentMessage', { mimetype: 'application/pdf', fileLength: '48213', fileName: 'a.pdf', fileSha256: sha.toString('base64'), mediaKey: 'x' })).toEqual({
      mimetype: 'application/pdf',
      size: 48213,
      filename: 'a.pdf',
      sha256: sha.toString('hex'),
    });
    expect(structuredContentOf('audioMessage', { mimetype: 'audio/ogg; codecs=opus', fileLength: { low: 5, high: 0 }, seconds: 3, ptt: true })).toEqual({
      mimetype: 'audio/ogg; codecs=opus',
      size: 5,
      seconds: 3,
      ptt: true,
      sha256: null,
    });
    expect(structuredContentOf('stickerMessage', { mimetype: 'image/webp', width: 512, height: 512, isAnimated: false, fileSha256: new Uint8Array([1, 2]) })).toEqual({
      mimetype: 'image/webp',
      size: null,
      width: 512,
      height: 512,
      animated: false,
      sha256: '0102',
    });
    expect(structuredContentOf('imageMessage', { jpegThumbnail: 'AAEC' })).toMatchObject({ thumbnail: 'AAEC' });
    expect(structuredContentOf('imageMessage', { jpegThumbnail: 'A'.repeat(20_000) })).not.toHaveProperty('thumbnail');
    expect(structuredContentOf('buttonsResponseMessage', {})).toBeUndefined();
  });

  it('what a message quotes and mentions, bounded', () => {
    expect(messageContextOf({ text: 'hi', contextInfo: { stanzaId: 'Q1', mentionedJid: ['1@s.whatsapp.net', '1@s.whatsapp.net', 2, 'x'.repeat(200)] } })).toEqual({
      reply_to: 'Q1',
      mentions: ['1@s.whatsapp.net'],
    });
    expect(messageContextOf('a plain conversation')).toEqual({ reply_to: null, mentions: null });
    expect(messageContextOf({ contextInfo: { stanzaId: 'x'.repeat(129) } })).toEqual({ reply_to: null, mentions: null });
  });

  it('an older runner’s raw content is stored in the same shape', () => {
    expect(storedFromProtoJson({ contactMessage: { displayName: 'Bob', vcard: 'BEGIN:VCARD\nFN:Bob\nEND:VCARD', contextInfo: { stanzaId: 'Q' } }, messageContextInfo: {} })).toEqual({
      type: 'contacts',
      content: { contacts: [{ name: 'Bob', phones: [], vcard: 'BEGIN:VCARD\nFN:Bob\nEND:VCARD' }] },
      reply_to: 'Q',
      mentions: null,
    });
    expect(storedFromProtoJson({ buttonsResponseMessage: {} })).toBeUndefined();
    expect(storedFromProtoJson(null)).toBeUndefined();
  });

  it('reads proto numbers and bytes in every form they come', () => {
    expect([protoNumber(3), protoNumber('42'), protoNumber({ low: 1, high: 1 }), protoNumber('x'), protoNumber(NaN)]).toEqual([3, 42, 2 ** 32 + 1, undefined, undefined]);
    expect([protoBytesHex({ type: 'Buffer', data: [255, 0] }), protoBytesHex('not base64!'), protoBytesHex('')]).toEqual(['ff00', null, null]);
  });
});
