// Media sends through a whole runner: the control plane's `send` with `media`, the runner downloads the
// file (from the control plane only), Baileys uploads it to the emulator's HTTPS media host (trusted
// through WA_MEDIA_CA alone), and the emulated contact decrypts it with its hashes verified.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from '../protocol/runner.js';
import type { InboxEntry } from './emulator/contacts.js';
import { startEmulator, type RunningEmulator } from './emulator/index.js';
import { control, eventually } from './emulator/testing.js';
import { startFakeControlPlane, type FakeControlPlane } from './fake-control-plane.js';
import type { Runner } from './runner.js';
import { startTestRunner } from './test-runner.js';

type Contact = { phone: string; jid: string };
type Send = Extract<Command, { name: 'send' }>;

const dir = mkdtempSync(join(tmpdir(), 'runner-media-'));
let emu: RunningEmulator;
let cp: FakeControlPlane;
let foreign: { url: string; seen: Array<{ path: string; headers: IncomingHttpHeaders }>; server: Server };
const runners: Runner[] = [];
const api = <T>(method: string, path: string, body?: unknown) => control<T>(emu.controlUrl, method, path, body);
const newId = () => `SB${randomBytes(8).toString('hex').toUpperCase()}`;
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(20_000), Buffer.from('\n%%EOF\n')]);

/** A runner with a linked session (QR scanned by a fresh emulated account). */
const linkedRunner = async (id: string, env: Record<string, string> = {}) => {
  const runner = await startTestRunner(cp, emu, id, { MAX_MEDIA_BYTES: '100000', ...env });
  runners.push(runner);
  const account = await api<{ phone: string }>('POST', '/accounts', { name: `Media ${id}` });
  const pk = randomUUID();
  cp.grant(id, pk);
  const qr = await cp.waitForEvent(pk, e => e.type === 'qr', 20_000, 'qr');
  await api('POST', `/accounts/${account.phone}/scan`, { qr: qr.type === 'qr' ? qr.qr : '' });
  await cp.waitForEvent(pk, e => e.type === 'connection.status' && e.status === 'connected', 20_000, 'connected');
  const send = (c: Omit<Send, 'name' | 'message_id'> & { message_id?: string }) => cp.command(id, pk, { name: 'send', message_id: newId(), ...c });
  return { runner, pk, send };
};

const inboxEntry = (c: Contact, id: string) => eventually(async () => (await api<InboxEntry[]>('GET', `/contacts/${c.phone}/inbox`)).find(e => e.id === id));

beforeAll(async () => {
  emu = await startEmulator({ port: 0, mediaCaFile: join(dir, 'media-ca.pem') });
  cp = await startFakeControlPlane({ heartbeatMs: 500 });
  // Another host on the runner's network, holding a file: the runner must never ask it for anything.
  const seen: Array<{ path: string; headers: IncomingHttpHeaders }> = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url!, headers: req.headers });
    if (req.url === '/files/brochure.pdf') res.writeHead(200, { 'content-type': 'application/pdf' }).end(PDF);
    else res.writeHead(404).end();
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  foreign = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
});

afterAll(async () => {
  for (const r of runners) await r.close();
  await cp?.close();
  await emu?.close();
  foreign?.server.closeAllConnections();
  foreign?.server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('media sends (WA_MEDIA_CA set)', () => {
  let session: Awaited<ReturnType<typeof linkedRunner>>;
  let contact: Contact;
  beforeAll(async () => {
    session = await linkedRunner('media-a', { WA_MEDIA_CA: emu.mediaCaFile! });
    contact = await api<Contact>('POST', '/contacts', { name: 'Mia' });
  });

  it('an image from the control plane’s media route reaches the contact, decrypted and verified', async () => {
    const png = await sharp({ create: { width: 40, height: 40, channels: 3, background: { r: 10, g: 120, b: 200 } } }).png().toBuffer();
    cp.media.set('img-1', { body: png, contentType: 'image/png' });
    const messageId = newId();
    const reply = await session.send({
      to: contact.phone,
      text: 'Your receipt',
      message_id: messageId,
      media: { kind: 'image', mimetype: 'image/png', source: { url: `${cp.url}/internal/media/img-1` } },
    });
    expect(reply).toMatchObject({ ok: true, result: { provider_message_id: messageId } });
    const entry = await inboxEntry(contact, messageId);
    expect(entry.media).toEqual({ type: 'image', mimetype: 'image/png', caption: 'Your receipt', fileName: null, size: png.length, sha256: true });
    // The reply came after WhatsApp's ack, like a text's.
    await cp.waitForEvent(session.pk, e => e.type === 'message.status' && e.provider_message_id === messageId && e.status === 'sent');
  });

  it('a document keeps its file name', async () => {
    cp.media.set('brochure', { body: PDF, contentType: 'application/pdf' });
    const messageId = newId();
    const reply = await session.send({
      to: contact.phone,
      text: '',
      message_id: messageId,
      media: { kind: 'document', mimetype: 'application/pdf', filename: 'brochure.pdf', source: { url: `${cp.url}/internal/media/brochure` } },
    });
    expect(reply.ok).toBe(true);
    expect((await inboxEntry(contact, messageId)).media).toEqual({
      type: 'document',
      mimetype: 'application/pdf',
      caption: null,
      fileName: 'brochure.pdf',
      size: PDF.length,
      sha256: true,
    });

    // The same message_id again answers the first result: no second download (the file is gone), no second message.
    cp.media.delete('brochure');
    const again = await session.send({ to: contact.phone, text: '', message_id: messageId, media: { kind: 'document', mimetype: 'application/pdf', source: { url: `${cp.url}/internal/media/brochure` } } });
    expect(again.result).toEqual(reply.result);
  });

  it('a file anywhere but the control plane is refused: nothing is asked of that host, nothing sent', async () => {
    const before = (await api<InboxEntry[]>('GET', `/contacts/${contact.phone}/inbox`)).length;
    const reply = await session.send({
      to: contact.phone,
      text: '',
      media: { kind: 'document', mimetype: 'application/pdf', source: { url: `${foreign.url}/files/brochure.pdf` } },
    });
    expect(reply).toMatchObject({ ok: false, error: { code: 'media_unavailable', message: expect.stringContaining('is not under CONTROL_PLANE_URL') } });
    expect(foreign.seen).toEqual([]);
    await new Promise(r => setTimeout(r, 300));
    expect(await api<InboxEntry[]>('GET', `/contacts/${contact.phone}/inbox`)).toHaveLength(before);
  });

  it('a voice note and a video', async () => {
    cp.media.set('voice', { body: Buffer.concat([Buffer.from('OggS'), randomBytes(3000)]), contentType: 'audio/ogg' });
    cp.media.set('clip', { body: Buffer.concat([Buffer.from('\0\0\0\x18ftypmp42'), randomBytes(5000)]), contentType: 'video/mp4' });
    const voice = await session.send({ to: contact.phone, text: '', media: { kind: 'audio', mimetype: 'audio/ogg; codecs=opus', ptt: true, source: { url: `${cp.url}/internal/media/voice` } } });
    const video = await session.send({ to: contact.phone, text: 'Unboxing', media: { kind: 'video', mimetype: 'video/mp4', source: { url: `${cp.url}/internal/media/clip` } } });
    expect([voice.ok, video.ok]).toEqual([true, true]);
    expect((await inboxEntry(contact, voice.result!.provider_message_id!)).media).toMatchObject({ type: 'audio', ptt: true, size: 3004, sha256: true });
    expect((await inboxEntry(contact, video.result!.provider_message_id!)).media).toMatchObject({ type: 'video', caption: 'Unboxing', size: 5012, sha256: true });
  });

  it('a file that cannot be downloaded is media_unavailable and nothing is sent; the same id works once it is there', async () => {
    const before = (await api<InboxEntry[]>('GET', `/contacts/${contact.phone}/inbox`)).length;
    const messageId = newId();
    const command = { to: contact.phone, text: 'late file', message_id: messageId, media: { kind: 'image' as const, mimetype: 'image/jpeg', source: { url: `${cp.url}/internal/media/later` } } };
    const failed = await session.send(command);
    expect(failed).toMatchObject({ ok: false, error: { code: 'media_unavailable', message: expect.stringContaining('404') } });
    expect((await api<InboxEntry[]>('GET', `/contacts/${contact.phone}/inbox`)).length).toBe(before);

    cp.media.set('later', { body: await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } }).jpeg().toBuffer(), contentType: 'image/jpeg' });
    expect(await session.send(command)).toMatchObject({ ok: true, result: { provider_message_id: messageId } });
  });

  it('a file over MAX_MEDIA_BYTES is media_too_large; a captioned audio is bad_command', async () => {
    cp.media.set('huge', { body: Buffer.alloc(100_001), contentType: 'application/octet-stream' });
    const big = await session.send({ to: contact.phone, text: '', media: { kind: 'document', mimetype: 'application/octet-stream', source: { url: `${cp.url}/internal/media/huge` } } });
    expect(big.error?.code).toBe('media_too_large');
    const captioned = await session.send({ to: contact.phone, text: 'hi', media: { kind: 'audio', mimetype: 'audio/ogg', source: { url: `${cp.url}/internal/media/voice` } } });
    expect(captioned.error?.code).toBe('bad_command');
  });
});

describe('without WA_MEDIA_CA', () => {
  it('the media host is not trusted (TLS verification stays on), so the send fails', async () => {
    const { send } = await linkedRunner('media-b');
    const contact = await api<Contact>('POST', '/contacts', { name: 'Noa' });
    cp.media.set('untrusted', { body: PDF, contentType: 'application/pdf' });
    const reply = await send({ to: contact.phone, text: '', media: { kind: 'document', mimetype: 'application/pdf', source: { url: `${cp.url}/internal/media/untrusted` } } });
    expect(reply).toMatchObject({ ok: false, error: { code: 'send_failed' } });
    expect(await api<InboxEntry[]>('GET', `/contacts/${contact.phone}/inbox`)).toEqual([]);
  });
});
