// Media between real Baileys and emulated contacts: Baileys asks for a media connection, uploads the
// encrypted file to the emulator's HTTPS media host (trusted through mediaTrustOptions only), and the
// contact fetches, verifies and decrypts it.
import { downloadMediaMessage, type WASocket } from '@whiskeysockets/baileys';
import { request } from 'node:https';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxEntry } from './contacts.js';
import { startEmulator, type RunningEmulator } from './emulator.js';
import { MediaStore, encryptMedia, inspectMedia } from './media.js';
import { control, eventually, linkByQr } from './testing.js';
import { mediaTrustOptions, trustEmulatorRoot } from './trust.js';

type Contact = { phone: string; jid: string };

let emu: RunningEmulator;
let sock: WASocket;
let trust: ReturnType<typeof mediaTrustOptions>;
const api = <T>(method: string, path: string, body?: unknown) => control<T>(emu.controlUrl, method, path, body);
const entryFor = (c: Contact, id: string) => eventually(async () => (await api<InboxEntry[]>('GET', `/contacts/${c.phone}/inbox`)).find(e => e.id === id));

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
  trustEmulatorRoot(emu.rootPublicKey);
  trust = mediaTrustOptions(emu.mediaCaPem);
  const account = await api<{ phone: string }>('POST', '/accounts', { name: 'Media Co' });
  ({ sock } = await linkByQr(emu, account.phone, undefined, trust));
});

afterAll(async () => {
  sock?.end(undefined);
  await emu?.close();
});

describe('gateway → contact media', () => {
  it('an image is uploaded to the media host, and the contact decrypts it with fileSha256 verified', async () => {
    const alice = await api<Contact>('POST', '/contacts', { name: 'Alice' });
    const png = await sharp({ create: { width: 48, height: 32, channels: 3, background: { r: 200, g: 30, b: 90 } } }).png().toBuffer();
    const sent = await sock.sendMessage(alice.jid, { image: png, caption: 'Your parcel', mimetype: 'image/png' });
    const entry = await entryFor(alice, sent!.key.id!);
    expect(entry.media).toEqual({ type: 'image', mimetype: 'image/png', caption: 'Your parcel', fileName: null, size: png.length, sha256: true });
    expect(entry.text).toBeUndefined();

    // What the contact's phone would show, byte for byte.
    const res = await fetch(`${emu.controlUrl}/contacts/${alice.phone}/media/${sent!.key.id}`);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await res.arrayBuffer()).equals(png)).toBe(true);

    // Baileys can download it back from the media host (through the dispatcher only).
    const again = await downloadMediaMessage(sent!, 'buffer', { options: trust.options });
    expect(Buffer.from(again).equals(png)).toBe(true);
  });

  it('a document keeps its file name and caption and is verified too; texts stay as they were', async () => {
    const bob = await api<Contact>('POST', '/contacts', { name: 'Bob' });
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(70_000, 7), Buffer.from('\n%%EOF\n')]);
    const sent = await sock.sendMessage(bob.jid, { document: pdf, fileName: 'invoice-42.pdf', mimetype: 'application/pdf', caption: 'Invoice 42' });
    const entry = await entryFor(bob, sent!.key.id!);
    expect(entry.media).toEqual({ type: 'document', mimetype: 'application/pdf', caption: 'Invoice 42', fileName: 'invoice-42.pdf', size: pdf.length, sha256: true });

    const text = await sock.sendMessage(bob.jid, { text: 'plain text' });
    const textEntry = await entryFor(bob, text!.key.id!);
    expect(textEntry.text).toBe('plain text');
    expect(textEntry).not.toHaveProperty('media');
  });

  it('a voice note arrives as audio with ptt', async () => {
    const carol = await api<Contact>('POST', '/contacts', { name: 'Carol' });
    const ogg = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(4000, 1)]);
    const sent = await sock.sendMessage(carol.jid, { audio: ogg, mimetype: 'audio/ogg; codecs=opus', ptt: true, seconds: 2 });
    const entry = await entryFor(carol, sent!.key.id!);
    expect(entry.media).toMatchObject({ type: 'audio', mimetype: 'audio/ogg; codecs=opus', ptt: true, size: ogg.length, sha256: true });
  });
});

describe('media host', () => {
  it('is HTTPS with the emulator’s own CA: untrusted by default, published on the control API', async () => {
    const pem = await (await fetch(`${emu.controlUrl}/media-ca`)).text();
    expect(pem).toBe(emu.mediaCaPem);
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    await expect(fetch(`${emu.mediaUrl}/v/none.enc`)).rejects.toThrow();
    const missing = await fetch(`${emu.mediaUrl}/v/none.enc`, trust.options);
    expect(missing.status).toBe(404);
    const info = await api<{ mediaUrl: string }>('GET', '/info');
    expect(info.mediaUrl).toBe(emu.mediaUrl);
  });

  it('refuses uploads with a wrong auth token or a body that does not match its fileEncSha256', async () => {
    const post = (path: string, body: Buffer) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${emu.mediaUrl}${path}`, { method: 'POST', agent: trust.fetchAgent }, res => (res.resume(), resolve(res.statusCode!)));
        req.on('error', reject);
        req.end(body);
      });
    const token = 'A'.repeat(43);
    expect(await post(`/mms/image/${token}?auth=wrong&token=${token}`, Buffer.from('x'))).toBe(401);
    expect(await post(`/mms/image/${token}?auth=${emu.network.media.auth}&token=${token}`, Buffer.from('x'))).toBe(400);
  });

  it('serves byte ranges and lists what it holds', async () => {
    const { blobs } = await api<{ blobs: Array<{ path: string; size: number }> }>('GET', '/media');
    const blob = blobs[0]!;
    const res = await fetch(`${emu.mediaUrl}${blob.path}`, { ...trust.options, headers: { range: 'bytes=16-31' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 16-31/${blob.size}`);
    expect((await res.arrayBuffer()).byteLength).toBe(16);
  });
});

describe('media checks', () => {
  it('a tampered blob, a wrong key or a missing blob is reported with sha256 false', async () => {
    const store = new MediaStore(1024 * 1024);
    const plain = Buffer.from('hello media');
    const { mediaKey, enc, fileSha256, fileEncSha256 } = await encryptMedia(plain, 'document');
    const blob = store.put('document', 'x', enc);
    const message = (over: Record<string, unknown> = {}) => ({
      documentMessage: { directPath: blob.path, mediaKey, fileSha256, fileEncSha256, fileLength: plain.length, mimetype: 'text/plain', fileName: 'a.txt', ...over },
    });
    expect(await inspectMedia(store, message())).toMatchObject({ type: 'document', size: plain.length, sha256: true });
    expect(await inspectMedia(store, message({ mediaKey: Buffer.alloc(32, 1) }))).toMatchObject({ sha256: false, error: 'media MAC mismatch' });
    expect(await inspectMedia(store, message({ fileSha256: Buffer.alloc(32) }))).toMatchObject({ sha256: false, error: 'fileSha256 mismatch' });
    expect(await inspectMedia(store, message({ directPath: '/v/gone.enc' }))).toMatchObject({ sha256: false, size: plain.length });
    enc[0]! ^= 1;
    expect(await inspectMedia(store, message())).toMatchObject({ sha256: false, error: 'fileEncSha256 mismatch' });
    expect(await inspectMedia(store, { conversation: 'text' })).toBeUndefined();
  });

  it('the store is bounded: the oldest blobs go first', () => {
    const store = new MediaStore(100);
    const first = store.put('image', 'a', Buffer.alloc(60));
    const second = store.put('image', 'b', Buffer.alloc(60));
    expect(store.get(first.path)).toBeUndefined();
    expect(store.get(`https://host${second.path}?x=1`)).toBe(second);
    expect(store.size).toMatchObject({ count: 1, bytes: 60 });
  });
});
