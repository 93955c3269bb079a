import { describe, expect, it } from 'vitest';
import { SendMessageBody } from './messages';

const seed = { connection_id: 'user123', to: '923001234567', message: 'Hello from API!', client_message_id: 'msg-001' };
const png = 'iVBORw0KGgo=';
const issues = (body: unknown) => {
  const r = SendMessageBody.safeParse(body);
  return r.success ? [] : r.error.issues.map((i) => [i.path.join('.'), i.message]);
};

describe('SendMessageBody', () => {
  it('accepts the seed body exactly as before', () => {
    expect(SendMessageBody.parse(seed)).toEqual(seed);
    expect(SendMessageBody.parse({ connection_id: 'c', to: '923001234567', message: 'hi' })).toEqual({ connection_id: 'c', to: '923001234567', message: 'hi' });
  });

  it('refuses a text send without a message, or with an empty one, with the same issues as before', () => {
    expect(issues({ connection_id: 'c', to: '923001234567' })).toEqual([['message', 'Invalid input: expected string, received undefined']]);
    expect(issues({ connection_id: 'c', to: '923001234567', message: '' })).toEqual([['message', 'Too small: expected string to have >=1 characters']]);
    // Several missing fields are all listed, as they always were.
    expect(issues({}).map(([path]) => path)).toEqual(['connection_id', 'to', 'message']);
    expect(issues({ connection_id: 'c', to: '923001234567', message: 'x'.repeat(65_537) })).toHaveLength(1);
  });

  it('takes media with an optional caption', () => {
    const image = { connection_id: 'c', to: '923001234567', media: { type: 'image', base64: png } };
    expect(SendMessageBody.safeParse(image).success).toBe(true);
    expect(SendMessageBody.safeParse({ ...image, message: '' }).success).toBe(true);
    expect(SendMessageBody.safeParse({ ...image, message: 'a caption' }).success).toBe(true);
    const doc = { connection_id: 'c', to: '923001234567', media: { type: 'document', url: 'https://example.com/a.pdf', filename: 'a.pdf', mimetype: 'application/pdf' } };
    expect(SendMessageBody.safeParse(doc).success).toBe(true);
    const voice = { connection_id: 'c', to: '923001234567', media: { type: 'audio', url: 'https://example.com/a.ogg', ptt: true, mimetype: 'audio/ogg; codecs=opus' } };
    expect(SendMessageBody.safeParse(voice).success).toBe(true);
  });

  it.each([
    ['both url and base64', { type: 'image', url: 'https://example.com/a.png', base64: png }, 'media'],
    ['neither url nor base64', { type: 'image' }, 'media'],
    ['an unknown type', { type: 'sticker', base64: png }, 'media.type'],
    ['ptt on an image', { type: 'image', base64: png, ptt: true }, 'media.ptt'],
    ['a mimetype that is not one', { type: 'image', base64: png, mimetype: 'png' }, 'media.mimetype'],
    ['an unknown media field', { type: 'image', base64: png, caption: 'x' }, 'media'],
    ['an empty base64', { type: 'image', base64: '' }, 'media.base64'],
  ])('refuses media with %s', (_label, media, path) => {
    expect(issues({ connection_id: 'c', to: '923001234567', media }).map(([p]) => p)).toContain(path);
  });

  it('refuses a caption on audio, which WhatsApp cannot show', () => {
    const audio = { connection_id: 'c', to: '923001234567', media: { type: 'audio', base64: png } };
    expect(issues({ ...audio, message: 'listen' })).toEqual([['message', 'audio takes no caption: leave message out (or empty)']]);
    expect(SendMessageBody.safeParse({ ...audio, message: '' }).success).toBe(true);
  });

  describe('the richer kinds', () => {
    const base = { connection_id: 'c', to: '923001234567' };
    it('takes each kind alone, and reply_to and mentions beside a text', () => {
      for (const kind of [
        { location: { latitude: -90, longitude: 180 } },
        { contacts: [{ name: 'Bob', phone: '+1 555 010 0001' }] },
        { poll: { name: 'Q', options: ['a', 'b'], selectable_count: 2 } },
        { reaction: { message_id: 'ABC', emoji: '' } },
        { location: { latitude: 0, longitude: 0 }, reply_to: 'ABC' },
        { sticker: { url: 'https://example.com/s.webp' }, reply_to: 'ABC' },
        { message: 'hi @923001234567', mentions: ['923001234567'], reply_to: 'ABC' },
        { media: { type: 'image', base64: png }, message: 'look @923001234567', mentions: ['+92 300 1234567'] },
      ]) {
        expect(issues({ ...base, ...kind }), JSON.stringify(kind)).toEqual([]);
      }
    });

    it.each([
      ['two kinds', { location: { latitude: 0, longitude: 0 }, media: { type: 'image', base64: png } }, 'location'],
      ['a message beside a poll', { message: 'x', poll: { name: 'Q', options: ['a', 'b'] } }, 'message'],
      ['a latitude out of range', { location: { latitude: -90.1, longitude: 0 } }, 'location.latitude'],
      ['one poll option', { poll: { name: 'Q', options: ['a'] } }, 'poll.options'],
      ['thirteen poll options', { poll: { name: 'Q', options: [...'abcdefghijklm'] } }, 'poll.options'],
      ['more choices than options', { poll: { name: 'Q', options: ['a', 'b'], selectable_count: 3 } }, 'poll.selectable_count'],
      ['no contacts', { contacts: [] }, 'contacts'],
      ['a contact name with a line break', { contacts: [{ name: 'a\nb', phone: '15550001111' }] }, 'contacts.0.name'],
      ['a mention the text lacks', { message: 'hi', mentions: ['923001234567'] }, 'mentions.0'],
      ['mentions without a text', { location: { latitude: 0, longitude: 0 }, mentions: ['923001234567'] }, 'mentions'],
      ['a reaction quoting a message', { reaction: { message_id: 'A', emoji: 'x' }, reply_to: 'B' }, 'reply_to'],
      ['a reply without content', { reply_to: 'B' }, 'message'],
      ['a forward quoting a message', { forward: { message_id: 'A' }, reply_to: 'B' }, 'reply_to'],
      ['a forward with a text', { forward: { message_id: 'A' }, message: 'look' }, 'message'],
      ['a sticker with a caption', { sticker: { base64: png }, message: 'x' }, 'message'],
      ['a sticker with both url and base64', { sticker: { base64: png, url: 'https://example.com/s.webp' } }, 'sticker'],
      ['a sticker beside media', { sticker: { base64: png }, media: { type: 'image', base64: png } }, 'sticker'],
    ])('refuses %s', (_label, kind, path) => {
      expect(issues({ ...base, ...kind }).map(([p]) => p)).toContain(path);
    });
  });
});
