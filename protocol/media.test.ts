import { describe, expect, it } from 'vitest';
import { defaultMimetype, mimetypeFromName, resolveMimetype, sniffMimetype } from './media';

const bytes = (...parts: (string | number[])[]) => Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? Array.from(p, (c) => c.charCodeAt(0)) : p)));

describe('media mimetypes', () => {
  it('reads common extensions, case-insensitively', () => {
    expect(mimetypeFromName('brochure.PDF')).toBe('application/pdf');
    expect(mimetypeFromName('photo.jpeg')).toBe('image/jpeg');
    expect(mimetypeFromName('note.opus')).toBe('audio/ogg; codecs=opus');
    expect(mimetypeFromName('archive.unknownext')).toBeUndefined();
    expect(mimetypeFromName('README')).toBeUndefined();
    expect(mimetypeFromName(undefined)).toBeUndefined();
  });

  it('defaults per type to what WhatsApp itself sends', () => {
    expect(defaultMimetype('image')).toBe('image/jpeg');
    expect(defaultMimetype('video')).toBe('video/mp4');
    expect(defaultMimetype('audio')).toBe('audio/mpeg');
    expect(defaultMimetype('audio', true)).toBe('audio/ogg; codecs=opus');
    expect(defaultMimetype('document')).toBe('application/octet-stream');
  });

  it("prefers the caller's mimetype, then the filename, then the server, then the URL, then the default", () => {
    expect(resolveMimetype({ type: 'image', mimetype: 'image/webp', filename: 'a.png' })).toBe('image/webp');
    expect(resolveMimetype({ type: 'document', filename: 'a.pdf' }, { contentType: 'text/plain' })).toBe('application/pdf');
    expect(resolveMimetype({ type: 'document' }, { contentType: 'application/pdf', name: 'a.txt' })).toBe('application/pdf');
    expect(resolveMimetype({ type: 'document' }, { contentType: 'application/octet-stream', name: 'a.csv' })).toBe('text/csv');
    expect(resolveMimetype({ type: 'image' }, { contentType: 'image/png; charset=binary' })).toBe('image/png; charset=binary');
    expect(resolveMimetype({ type: 'image' })).toBe('image/jpeg');
    expect(resolveMimetype({ type: 'audio', ptt: true })).toBe('audio/ogg; codecs=opus');
  });

  it('recognises a few formats by their first bytes', () => {
    expect(sniffMimetype(bytes([0x89], 'PNG\r\n', [0x1a, 0x0a, 0, 0]))).toBe('image/png');
    expect(sniffMimetype(bytes([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg');
    expect(sniffMimetype(bytes('GIF89a'))).toBe('image/gif');
    expect(sniffMimetype(bytes('RIFF', [1, 2, 3, 4], 'WEBPVP8 '))).toBe('image/webp');
    expect(sniffMimetype(bytes('%PDF-1.7'))).toBe('application/pdf');
    expect(sniffMimetype(bytes('hello'))).toBeUndefined();
    expect(sniffMimetype(new Uint8Array(0))).toBeUndefined();
    // The bytes outrank the server and the URL, not the caller's own filename.
    const png = bytes([0x89], 'PNG\r\n', [0x1a, 0x0a]);
    expect(resolveMimetype({ type: 'image' }, { bytes: png, contentType: 'image/jpeg', name: 'x.gif' })).toBe('image/png');
    expect(resolveMimetype({ type: 'image', filename: 'x.webp' }, { bytes: png })).toBe('image/webp');
    expect(resolveMimetype({ type: 'document' }, { bytes: bytes('%PDF-1.4') })).toBe('application/pdf');
  });

  it('ignores hints that do not fit the type (an HTML page served for an image)', () => {
    expect(resolveMimetype({ type: 'image' }, { contentType: 'text/html; charset=utf-8', name: 'photo' })).toBe('image/jpeg');
    expect(resolveMimetype({ type: 'image', filename: 'x.pdf' }, { name: 'x.png' })).toBe('image/png');
    expect(resolveMimetype({ type: 'video' }, { contentType: 'not a type' })).toBe('video/mp4');
  });
});
