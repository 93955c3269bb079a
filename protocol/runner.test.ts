// Which commands need a runner feature: those an older runner would silently send as something else.
import { describe, expect, it } from 'vitest';
import { Command, featureNeededBy } from './runner';

const send = { name: 'send' as const, to: '15550001111@s.whatsapp.net', text: '', message_id: '3EB0AA' };
const key = { id: 'A', remote_jid: '15550001111@s.whatsapp.net', from_me: false };

describe('runner features', () => {
  it('asks send-content of every richer send, nothing of a text, a file or a link preview', () => {
    expect(featureNeededBy({ ...send, text: 'hi' })).toBeUndefined();
    expect(featureNeededBy({ ...send, media: { kind: 'image', mimetype: 'image/png', source: { url: 'https://cp.example/internal/media/x' } } })).toBeUndefined();
    expect(featureNeededBy({ ...send, text: 'see https://e.com', link_preview: { url: 'https://e.com', matched_text: 'https://e.com', title: 'E' } })).toBeUndefined();
    expect(featureNeededBy({ ...send, content: { kind: 'location', latitude: 0, longitude: 0 } })).toBe('send-content');
    expect(featureNeededBy({ ...send, text: 'hi', quoted: { key, message: { conversation: 'x' } } })).toBe('send-content');
    expect(featureNeededBy({ ...send, text: 'hi @1', mentions: ['1@s.whatsapp.net'] })).toBe('send-content');
    expect(featureNeededBy({ ...send, media: { kind: 'sticker', mimetype: 'image/webp', source: { url: 'https://cp.example/internal/media/x' } } })).toBe('send-content');
    expect(featureNeededBy({ name: 'restart' })).toBeUndefined();
  });

  it('asks message-actions of an edit and a revoke', () => {
    expect(featureNeededBy({ name: 'edit', key, text: 'new' })).toBe('message-actions');
    expect(featureNeededBy({ name: 'revoke', key })).toBe('message-actions');
  });

  it('is needed because a protocol-1 runner strips what it does not know', () => {
    const old = Command.options[0].omit({ content: true, quoted: true, mentions: true, link_preview: true });
    const parsed = old.parse({ ...send, content: { kind: 'location', latitude: 0, longitude: 0 } });
    expect(parsed).toEqual(send); // the location is gone: it would have sent an empty text
  });
});
