// Messages and receipts between real Baileys and emulated contacts, both directions.
import type { BinaryNode, WAMessage, WASocket } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from './emulator.js';
import type { InboxEntry } from './contacts.js';
import type { ReceiptRecord } from './network.js';
import { control, eventually, linkByQr, waitForEvent, type MemoryAuth } from './testing.js';
import { trustEmulatorRoot } from './trust.js';

type Contact = { phone: string; jid: string };

let emu: RunningEmulator;
let sock: WASocket;
let auth: MemoryAuth;
let account: { phone: string };
const api = <T>(method: string, path: string, body?: unknown) => control<T>(emu.controlUrl, method, path, body);
const inbox = (c: Contact) => api<InboxEntry[]>('GET', `/contacts/${c.phone}/inbox`);

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
  trustEmulatorRoot(emu.rootPublicKey);
  account = await api('POST', '/accounts', { name: 'Acme Support' });
  ({ sock, auth } = await linkByQr(emu, account.phone));
});

afterAll(async () => {
  sock?.end(undefined);
  await emu?.close();
});

describe('gateway → contact', () => {
  it('a text is acked by the server, decrypted by the contact, and its delivery and read come back as messages.update', async () => {
    const alice = await api<Contact>('POST', '/contacts', { name: 'Alice' });
    const acks: BinaryNode[] = [];
    sock.ws.on('CB:ack,class:message', (n: BinaryNode) => acks.push(n));
    // Baileys' event buffer may fold an early status into the upsert of the sent message itself.
    const statuses: number[] = [];
    sock.ev.on('messages.update', updates => {
      for (const u of updates) if (u.update.status) statuses.push(u.update.status);
    });
    sock.ev.on('messages.upsert', ({ messages }) => {
      for (const m of messages) if (m.key.fromMe && typeof m.status === 'number') statuses.push(m.status);
    });

    const sent = await sock.sendMessage(alice.jid, { text: 'Your order has shipped' });
    const id = sent!.key.id!;
    const [entry] = await eventually(async () => ((await inbox(alice)).length ? inbox(alice) : undefined));
    expect(entry).toMatchObject({ id, text: 'Your order has shipped', encType: 'pkmsg', chat: `${account.phone}@s.whatsapp.net` });
    await eventually(() => (acks.some(a => a.attrs.id === id) ? true : undefined));
    await eventually(() => (statuses.includes(3) ? true : undefined));

    await api('POST', `/contacts/${alice.phone}/receipts`, { ids: [id], type: 'read' });
    await eventually(() => (statuses.includes(4) ? true : undefined));

    // Until Alice answers, Signal keeps sending pre-key messages on the same session.
    await sock.sendMessage(alice.jid, { text: 'Tracking: ZX-1' });
    const second = await eventually(async () => (await inbox(alice))[1]);
    expect(second).toMatchObject({ text: 'Tracking: ZX-1' });
  });
});

describe('contact → gateway', () => {
  it('a contact message arrives as messages.upsert and the gateway sends delivery then read receipts', async () => {
    const bob = await api<Contact>('POST', '/contacts', { name: 'Bob' });
    const upsert = waitForEvent(sock, 'messages.upsert', u => u.messages.some(m => m.key.remoteJid === bob.jid));
    const { ids } = await api<{ ids: string[] }>('POST', `/contacts/${bob.phone}/messages`, { to: account.phone, text: 'Where is my parcel?' });
    const { messages, type } = await upsert;
    const msg = messages.find(m => m.key.remoteJid === bob.jid)!;
    expect(type).toBe('notify');
    expect(msg.key).toMatchObject({ id: ids[0], fromMe: false });
    expect(msg.message?.conversation).toBe('Where is my parcel?');
    expect(msg.pushName).toBe('Bob');

    const receiptsFor = (type: string) => async () =>
      (await api<ReceiptRecord[]>('GET', '/receipts')).find(r => r.direction === 'gateway-to-contact' && r.contact === bob.phone && r.type === type && r.ids.includes(ids[0]!));
    await eventually(receiptsFor('delivery'));
    await sock.readMessages([msg.key]);
    await eventually(receiptsFor('read'));
  });

  it('a reply from the gateway after the contact opened the session is decrypted too', async () => {
    const carol = await api<Contact>('POST', '/contacts', { name: 'Carol' });
    const upsert = waitForEvent(sock, 'messages.upsert', u => u.messages.some(m => m.key.remoteJid === carol.jid));
    await api('POST', `/contacts/${carol.phone}/messages`, { to: account.phone, text: 'hello?' });
    await upsert;
    await sock.sendMessage(carol.jid, { text: 'hello Carol' });
    const entry = await eventually(async () => (await inbox(carol))[0]);
    expect(entry).toMatchObject({ text: 'hello Carol' });
  });
});

describe('who is on WhatsApp', () => {
  it('the contact lookup tells registered numbers from others, and answers a dialled form with the registered JID', async () => {
    const bruno = await api<Contact>('POST', '/contacts', { name: 'Bruno' });
    const dialled = `${bruno.phone.slice(0, 4)}9${bruno.phone.slice(4)}`.slice(0, 15);
    await api('POST', '/dialled-numbers', { number: dialled, phone: bruno.phone });
    expect(await sock.onWhatsApp(bruno.phone)).toEqual([{ jid: bruno.jid, exists: true }]);
    expect(await sock.onWhatsApp(dialled)).toEqual([{ jid: bruno.jid, exists: true }]);
    expect(await sock.onWhatsApp('15559999999')).toEqual([]);
  });
});

describe('one session, 100 messages each way', () => {
  it('every message is decrypted on both sides, in order (the ratchet advances correctly)', async () => {
    const dana = await api<Contact>('POST', '/contacts', { name: 'Dana' });
    for (let i = 1; i <= 100; i++) await sock.sendMessage(dana.jid, { text: `out ${i}` });
    const got = await eventually(async () => {
      const box = await inbox(dana);
      return box.length >= 100 ? box : undefined;
    }, 30_000);
    expect(got.map(e => e.text)).toEqual(Array.from({ length: 100 }, (_, i) => `out ${i + 1}`));

    const received: WAMessage[] = [];
    sock.ev.on('messages.upsert', ({ messages }) => received.push(...messages.filter(m => m.key.remoteJid === dana.jid)));
    await api('POST', `/contacts/${dana.phone}/messages`, { to: account.phone, text: 'in', count: 100 });
    await eventually(() => (received.length >= 100 ? true : undefined), 30_000);
    expect(received.map(m => m.message?.conversation)).toEqual(Array.from({ length: 100 }, (_, i) => `in ${i + 1}`));

    // Both sides have now spoken on the session: no more pre-key messages.
    await sock.sendMessage(dana.jid, { text: 'after the exchange' });
    const last = await eventually(async () => (await inbox(dana))[100]);
    expect(last).toMatchObject({ text: 'after the exchange', encType: 'msg' });
  });
});

describe('presence', () => {
  it('subscribing to a contact’s presence reports it available', async () => {
    const hank = await api<Contact>('POST', '/contacts', { name: 'Hank' });
    const update = waitForEvent(sock, 'presence.update', u => u.id === hank.jid);
    await sock.presenceSubscribe(hank.jid);
    const { presences } = await update;
    expect(Object.values(presences)[0]?.lastKnownPresence).toBe('available');
  });
});

describe('account to account', () => {
  it('two emulated accounts’ gateways can message each other', async () => {
    const other = await api<{ phone: string }>('POST', '/accounts', { name: 'Other Co' });
    const { sock: otherSock } = await linkByQr(emu, other.phone);
    try {
      const got = waitForEvent(otherSock, 'messages.upsert', u => u.messages.some(m => m.message?.conversation === 'hello other co' || m.message?.extendedTextMessage?.text === 'hello other co'));
      await sock.sendMessage(`${other.phone}@s.whatsapp.net`, { text: 'hello other co' });
      const { messages } = await got;
      expect(messages[0]!.key.remoteJid).toBe(`${account.phone}@s.whatsapp.net`);
    } finally {
      otherSock.end(undefined);
    }
  });
});

describe('retry receipts', () => {
  it('when the gateway lost its session, its retry receipt makes the contact re-encrypt and the message arrives', async () => {
    const ivy = await api<Contact & { lid: string }>('POST', '/contacts', { name: 'Ivy' });
    const first = waitForEvent(sock, 'messages.upsert', u => u.messages.some(m => m.message?.conversation === 'first'));
    await api('POST', `/contacts/${ivy.phone}/messages`, { to: account.phone, text: 'first' });
    await first;
    // Simulate lost Signal state on the gateway side for this contact.
    const lost = [...auth.keys.keys()].filter(k => k.startsWith('session:') && (k.includes(ivy.lid) || k.includes(ivy.phone)));
    expect(lost.length).toBeGreaterThan(0);
    for (const k of lost) auth.keys.delete(k);

    const again = waitForEvent(sock, 'messages.upsert', u => u.messages.some(m => m.message?.conversation === 'second'), 20_000);
    await api('POST', `/contacts/${ivy.phone}/messages`, { to: account.phone, text: 'second' });
    await again;
    const receipts = await api<ReceiptRecord[]>('GET', '/receipts');
    expect(receipts.some(r => r.contact === ivy.phone && r.type === 'retry')).toBe(true);
  });
});
