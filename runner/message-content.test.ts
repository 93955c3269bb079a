// The send command as Baileys content, kind by kind, and the commands the runner refuses before any work.
import { proto } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { checkSend, ContentError, mediaContent, quotedMessage, structuredContent, textContent, withMentions } from './message-content.js';

const key = { id: 'ABC', remote_jid: '15550001111@s.whatsapp.net', from_me: false };

describe('message content', () => {
  it('maps each structured kind to what Baileys sends', () => {
    expect(structuredContent({ kind: 'location', latitude: 1.5, longitude: -2, name: 'Here' })).toEqual({
      location: { degreesLatitude: 1.5, degreesLongitude: -2, name: 'Here' },
    });
    expect(structuredContent({ kind: 'contacts', display_name: 'Bob', cards: [{ display_name: 'Bob', vcard: 'BEGIN:VCARD…' }] })).toEqual({
      contacts: { displayName: 'Bob', contacts: [{ displayName: 'Bob', vcard: 'BEGIN:VCARD…' }] },
    });
    expect(structuredContent({ kind: 'reaction', key: { ...key, participant: '1555@s.whatsapp.net' }, emoji: '' })).toEqual({
      react: { text: '', key: { id: 'ABC', remoteJid: key.remote_jid, fromMe: false, participant: '1555@s.whatsapp.net' } },
    });
    const forward = structuredContent({ kind: 'forward', message: { key: { ...key, from_me: true }, message: { conversation: 'pass it on' } } }) as { forward: { key: unknown; message: unknown } };
    expect(forward.forward.key).toEqual({ id: 'ABC', remoteJid: key.remote_jid, fromMe: true });
    expect(forward.forward.message).toEqual(proto.Message.fromObject({ conversation: 'pass it on' }));
    expect(structuredContent({ kind: 'poll', name: 'Q', options: ['a', 'b'], selectable_count: 1 })).toEqual({ poll: { name: 'Q', values: ['a', 'b'], selectableCount: 1 } });
  });

  it('sends a sticker as a sticker, without a caption', () => {
    const sticker = { kind: 'sticker' as const, mimetype: 'image/webp', source: { url: 'https://cp.example/internal/media/x' } };
    const file = Buffer.from('RIFF....WEBP');
    expect(mediaContent(sticker, '', file)).toEqual({ sticker: file });
    expect(() => checkSend({ text: 'hi', media: sticker })).toThrow(/stickers carry no caption/);
  });

  it('rebuilds the quoted message as a proto from its JSON (bytes as base64)', () => {
    const quoted = quotedMessage({ key, message: { imageMessage: { caption: 'pic', fileSha256: Buffer.from('hash').toString('base64') } } });
    expect(quoted.key).toEqual({ id: 'ABC', remoteJid: key.remote_jid, fromMe: false });
    expect(quoted.message).toBeInstanceOf(proto.Message);
    expect(Buffer.from(quoted.message!.imageMessage!.fileSha256!).toString()).toBe('hash');
  });

  it("sends a text with the control plane's link preview, and never lets Baileys fetch one itself", () => {
    expect(textContent('see https://example.com', undefined)).toEqual({ text: 'see https://example.com', linkPreview: null });
    expect(textContent('see https://example.com', { url: 'https://example.com', matched_text: 'https://example.com', title: 'Example' })).toEqual({
      text: 'see https://example.com',
      linkPreview: { 'canonical-url': 'https://example.com', 'matched-text': 'https://example.com', title: 'Example' },
    });
  });

  it('puts mentions on a text or a caption only', () => {
    expect(withMentions({ text: 'hi' }, ['1@s.whatsapp.net'])).toEqual({ text: 'hi', mentions: ['1@s.whatsapp.net'] });
    expect(() => withMentions({ location: { degreesLatitude: 0, degreesLongitude: 0 } }, ['1@s.whatsapp.net'])).toThrow(ContentError);
  });

  it('refuses a command mixing kinds before doing anything', () => {
    const location = { kind: 'location' as const, latitude: 0, longitude: 0 };
    expect(() => checkSend({ text: 'hi', content: location })).toThrow(/carries no text/);
    expect(() => checkSend({ text: '', content: { kind: 'reaction', key, emoji: '👍' }, quoted: { key, message: {} } })).toThrow(/quotes nothing/);
    expect(() => checkSend({ text: '', content: location, mentions: ['1@s.whatsapp.net'] })).toThrow(/mentions/);
    expect(() => checkSend({ text: 'hi', mentions: ['1@s.whatsapp.net'] })).not.toThrow();
  });
});
