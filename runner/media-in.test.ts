import type { WAMessage } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { incomingFileOf } from './media-in.js';

const sha = Buffer.alloc(32, 7);
const msg = (message: Record<string, unknown>, fromMe = false) => ({ key: { id: 'X', remoteJid: '1@s.whatsapp.net', fromMe }, message }) as unknown as WAMessage;
const media = { url: 'https://mmg.whatsapp.net/x', directPath: '/x', mediaKey: Buffer.alloc(32, 1), fileSha256: sha, fileLength: 1234, mimetype: 'application/pdf' };

describe('which received messages have a file to download', () => {
  it('an image, video, audio, document or sticker, described as its message states it', () => {
    expect(incomingFileOf(msg({ documentMessage: { ...media, fileName: 'a.pdf' } }))).toEqual({ mimetype: 'application/pdf', size: 1234, filename: 'a.pdf', sha256: sha.toString('hex') });
    expect(incomingFileOf(msg({ imageMessage: { ...media, mimetype: 'image/jpeg', fileName: 'ignored' } }))).toMatchObject({ mimetype: 'image/jpeg', filename: null });
    for (const kind of ['videoMessage', 'audioMessage', 'stickerMessage']) expect(incomingFileOf(msg({ [kind]: media }))).not.toBeNull();
    // Inside WhatsApp's wrappers (a document with a caption, view once).
    expect(incomingFileOf(msg({ documentWithCaptionMessage: { message: { documentMessage: media } } }))).not.toBeNull();
  });

  it('not our own messages, texts, or a file without the hash and key to fetch and check it', () => {
    expect(incomingFileOf(msg({ imageMessage: media }, true))).toBeNull();
    expect(incomingFileOf(msg({ conversation: 'hi' }))).toBeNull();
    expect(incomingFileOf(msg({ imageMessage: { ...media, fileSha256: undefined } }))).toBeNull();
    expect(incomingFileOf(msg({ imageMessage: { ...media, mediaKey: undefined } }))).toBeNull();
    expect(incomingFileOf(msg({ imageMessage: { ...media, url: undefined, directPath: undefined } }))).toBeNull();
  });

  it('a file whose size its message does not state counts as too large (never downloaded unbounded)', () => {
    expect(incomingFileOf(msg({ imageMessage: { ...media, fileLength: undefined } }))?.size).toBe(-1);
  });
});
