// Group messages between real Baileys and emulated contacts, both directions, and group metadata.
import type { BaileysEventMap, BinaryNode, WASocket } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxEntry } from './contacts.js';
import { startEmulator, type RunningEmulator } from './emulator.js';
import type { ReceiptRecord } from './network.js';
import { connectGateway, control, eventually, linkByQr, waitForEvent, type MemoryAuth } from './testing.js';
import { trustEmulatorRoot } from './trust.js';

type Contact = { phone: string; jid: string; lid: string; name: string };
type GroupView = { jid: string; subject: string; creator: string; creation: number; addressingMode: 'lid' | 'pn'; participants: string[] };

let emu: RunningEmulator;
let sock: WASocket;
let auth: MemoryAuth;
let account: { phone: string; lid: string };
let alice: Contact;
let bob: Contact;
const api = <T>(method: string, path: string, body?: unknown) => control<T>(emu.controlUrl, method, path, body);
const inbox = (c: Contact) => api<InboxEntry[]>('GET', `/contacts/${c.phone}/inbox`);
const inboxEntry = (c: Contact, id: string) => eventually(async () => (await inbox(c)).find(e => e.id === id));
const lidJid = (c: Contact) => `${c.lid}@lid`;
const textOf = (m: BaileysEventMap['messages.upsert']['messages'][number]) => m.message?.conversation ?? m.message?.extendedTextMessage?.text;

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
  trustEmulatorRoot(emu.rootPublicKey);
  account = await api('POST', '/accounts', { name: 'Acme Support' });
  ({ sock, auth } = await linkByQr(emu, account.phone));
  alice = await api<Contact>('POST', '/contacts', { name: 'Alice' });
  bob = await api<Contact>('POST', '/contacts', { name: 'Bob' });
});

afterAll(async () => {
  sock?.end(undefined);
  await emu?.close();
});

describe('control API', () => {
  it('creates a group of contacts and accounts and shows it', async () => {
    const group = await api<GroupView>('POST', '/groups', { subject: 'Orders', participants: [account.phone, alice.phone] });
    expect(group).toMatchObject({ subject: 'Orders', creator: account.phone, addressingMode: 'lid', participants: [account.phone, alice.phone] });
    expect(group.jid).toMatch(/^120363\d{12}@g\.us$/);
    expect(await api('GET', `/groups/${encodeURIComponent(group.jid)}`)).toEqual(group);
  });

  it('refuses unknown members (404), unknown groups (404) and senders outside the group (400)', async () => {
    await expect(api('POST', '/groups', { subject: 'X', participants: ['19990001111'] })).rejects.toThrow(/→ 404/);
    await expect(api('GET', '/groups/120363000000000000@g.us')).rejects.toThrow(/→ 404/);
    const group = await api<GroupView>('POST', '/groups', { subject: 'Private', participants: [account.phone, alice.phone] });
    await expect(api('POST', `/contacts/${bob.phone}/messages`, { group: group.jid, text: 'let me in' })).rejects.toThrow(/→ 400/);
  });
});

describe('group metadata', () => {
  it('sock.groupMetadata returns subject and participants by LID, with phone numbers and the creator as superadmin', async () => {
    const group = await api<GroupView>('POST', '/groups', { subject: 'Support team', participants: [alice.phone, account.phone, bob.phone] });
    const meta = await sock.groupMetadata(group.jid);
    expect(meta).toMatchObject({ id: group.jid, subject: 'Support team', addressingMode: 'lid', owner: lidJid(alice), ownerPn: alice.jid, size: 3 });
    expect(meta.participants).toEqual([
      { id: lidJid(alice), phoneNumber: alice.jid, admin: 'superadmin' },
      { id: `${account.lid}@lid`, phoneNumber: `${account.phone}@s.whatsapp.net`, admin: null },
      { id: lidJid(bob), phoneNumber: bob.jid, admin: null },
    ]);
  });

  it('is refused with 403 for a group the account is not in, and 404 for an unknown group', async () => {
    const group = await api<GroupView>('POST', '/groups', { subject: 'Not ours', participants: [alice.phone, bob.phone] });
    await expect(sock.groupMetadata(group.jid)).rejects.toMatchObject({ message: 'forbidden', data: 403 });
    await expect(sock.groupMetadata('120363999999999999@g.us')).rejects.toMatchObject({ message: 'item-not-found', data: 404 });
  });

  it('groupFetchAllParticipating lists only the groups the account is in', async () => {
    const all = await api<GroupView[]>('GET', '/groups');
    const mine = await sock.groupFetchAllParticipating();
    expect(Object.keys(mine).sort()).toEqual(all.filter(g => g.participants.includes(account.phone)).map(g => g.jid).sort());
    expect(Object.keys(mine).length).toBeLessThan(all.length);
  });
});

describe('gateway → group', () => {
  it('a text reaches every member contact, is acked, and their delivery receipts come back; the next one reuses the sender key', async () => {
    const group = await api<GroupView>('POST', '/groups', { subject: 'Deliveries', participants: [account.phone, alice.phone, bob.phone] });
    const acks: BinaryNode[] = [];
    sock.ws.on('CB:ack,class:message', (n: BinaryNode) => acks.push(n));
    // Group receipts come as message-receipt.update, or, when Baileys' event buffer still holds the
    // upsert of the sent message, folded into that message's userReceipt.
    const receipts: BaileysEventMap['message-receipt.update'] = [];
    sock.ev.on('message-receipt.update', updates => receipts.push(...updates));
    sock.ev.on('messages.upsert', ({ messages }) => {
      for (const m of messages) for (const receipt of m.userReceipt ?? []) receipts.push({ key: m.key, receipt });
    });

    const first = await sock.sendMessage(group.jid, { text: 'Truck leaves at 9' });
    const id = first!.key.id!;
    for (const c of [alice, bob]) {
      expect(await inboxEntry(c, id)).toMatchObject({
        text: 'Truck leaves at 9',
        group: group.jid,
        chat: group.jid,
        from: `${account.phone}:1@s.whatsapp.net`,
        encType: 'skmsg',
      });
    }
    await eventually(() => (acks.some(a => a.attrs.id === id && a.attrs.from === group.jid && !a.attrs.error) ? true : undefined));
    // One receipt per member, from the group, naming the member (by LID: a LID group).
    await eventually(() => {
      const from = receipts.filter(r => r.key.id === id && r.key.remoteJid === group.jid && r.receipt.receiptTimestamp).map(r => r.receipt.userJid);
      return from.includes(lidJid(alice)) && from.includes(lidJid(bob)) ? true : undefined;
    });

    // Baileys remembers which devices hold its sender key; the next message carries none for them.
    const memory = auth.keys.get(`sender-key-memory:${group.jid}`) as Record<string, boolean>;
    expect(memory).toMatchObject({ [lidJid(alice)]: true, [lidJid(bob)]: true });
    const second = await sock.sendMessage(group.jid, { text: 'Truck left' });
    for (const c of [alice, bob]) expect(await inboxEntry(c, second!.key.id!)).toMatchObject({ text: 'Truck left', group: group.jid });
    expect(auth.keys.get(`sender-key-memory:${group.jid}`)).toEqual(memory);

    // The account's phone (Signal device 0) is a member too: it got the sender key and read the message.
    const phoneInbox = await api<InboxEntry[]>('GET', `/accounts/${account.phone}/inbox`);
    expect(phoneInbox.filter(e => e.group === group.jid).map(e => e.text)).toEqual(['Truck leaves at 9', 'Truck left']);

    // The contact's read receipt goes the same way.
    await api('POST', `/contacts/${alice.phone}/receipts`, { ids: [id], type: 'read' });
    await eventually(() => (receipts.some(r => r.key.id === id && r.receipt.userJid === lidJid(alice) && r.receipt.readTimestamp) ? true : undefined));
    const recorded = await api<ReceiptRecord[]>('GET', '/receipts');
    expect(recorded.filter(r => r.direction === 'contact-to-gateway' && r.ids.includes(id)).map(r => [r.contact, r.type, r.group])).toEqual([
      [alice.phone, 'delivery', group.jid],
      [bob.phone, 'delivery', group.jid],
      [alice.phone, 'read', group.jid],
    ]);
  });
});

describe('contact → group', () => {
  it('arrives as messages.upsert in the group from the contact, twice, and the gateway’s receipts reach the contact', async () => {
    const group = await api<GroupView>('POST', '/groups', { subject: 'Questions', participants: [alice.phone, bob.phone, account.phone] });
    const from = (text: string) => waitForEvent(sock, 'messages.upsert', u => u.messages.some(m => m.key.remoteJid === group.jid && textOf(m) === text));

    for (const text of ['Is the shop open?', 'Sunday too?']) {
      const upsert = from(text);
      const { ids } = await api<{ ids: string[] }>('POST', `/contacts/${alice.phone}/messages`, { group: group.jid, text });
      const { messages, type } = await upsert;
      const msg = messages.find(m => textOf(m) === text)!;
      expect(type).toBe('notify');
      expect(msg.key).toMatchObject({ remoteJid: group.jid, participant: lidJid(alice), participantAlt: alice.jid, fromMe: false, id: ids[0] });
      expect(msg.pushName).toBe('Alice');
      await eventually(async () =>
        (await api<ReceiptRecord[]>('GET', '/receipts')).find(
          r => r.direction === 'gateway-to-contact' && r.contact === alice.phone && r.group === group.jid && r.ids.includes(ids[0]!),
        ),
      );
    }

    // Bob has his own sender key; the gateway learns it from his first message.
    const fromBob = from('Me too');
    await api('POST', `/contacts/${bob.phone}/messages`, { group: group.jid, text: 'Me too' });
    expect((await fromBob).messages[0]!.key.participant).toBe(lidJid(bob));

    // And the gateway answers in the same group.
    const reply = await sock.sendMessage(group.jid, { text: 'Yes, 9 to 5' });
    for (const c of [alice, bob]) expect(await inboxEntry(c, reply!.key.id!)).toMatchObject({ text: 'Yes, 9 to 5', group: group.jid });
  });

  it('a contact message for an offline gateway is queued and delivered when it logs in again', async () => {
    const group = await api<GroupView>('POST', '/groups', { subject: 'Night shift', participants: [account.phone, bob.phone] });
    const closed = waitForEvent(sock, 'connection.update', u => u.connection === 'close');
    await api('POST', `/accounts/${account.phone}/faults`, { action: 'drop-socket' });
    await closed;
    await api('POST', `/contacts/${bob.phone}/messages`, { group: group.jid, text: 'while you were away' });
    const [device] = (await api<{ devices: { online: boolean; queued: number }[] }>('GET', `/accounts/${account.phone}`)).devices;
    expect(device).toMatchObject({ online: false, queued: 1 });

    sock = connectGateway(emu.url, auth);
    const got = waitForEvent(sock, 'messages.upsert', u => u.messages.some(m => m.key.remoteJid === group.jid && textOf(m) === 'while you were away'));
    const { messages } = await got;
    expect(messages.find(m => textOf(m) === 'while you were away')!.key.participant).toBe(lidJid(bob));
  });
});

describe('two accounts in a group', () => {
  it('each gateway gets the other’s group messages (sent by device, shown by account)', async () => {
    const other = await api<{ phone: string; lid: string }>('POST', '/accounts', { name: 'Other Co' });
    const { sock: otherSock } = await linkByQr(emu, other.phone);
    try {
      const group = await api<GroupView>('POST', '/groups', { subject: 'Partners', participants: [account.phone, other.phone, alice.phone] });
      const inGroup = (s: WASocket, text: string) =>
        waitForEvent(s, 'messages.upsert', u => u.messages.some(m => m.key.remoteJid === group.jid && textOf(m) === text));

      const got = inGroup(otherSock, 'hello partners');
      await sock.sendMessage(group.jid, { text: 'hello partners' });
      const msg = (await got).messages.find(m => textOf(m) === 'hello partners')!;
      // The server names the sending device (participant="<lid>:1@lid": sender keys are per device); Baileys shows the account.
      expect(msg.key).toMatchObject({ fromMe: false, participant: `${account.lid}@lid`, participantAlt: `${account.phone}@s.whatsapp.net` });
      expect(msg.pushName).toBe('Acme Support');

      const back = inGroup(sock, 'hello acme');
      await otherSock.sendMessage(group.jid, { text: 'hello acme' });
      expect((await back).messages.find(m => textOf(m) === 'hello acme')!.key.participant).toBe(`${other.lid}@lid`);
      // The contact in the group read both.
      for (const text of ['hello partners', 'hello acme']) await eventually(async () => (await inbox(alice)).find(e => e.group === group.jid && e.text === text));
    } finally {
      otherSock.end(undefined);
    }
  });
});

describe('retry receipts in a group', () => {
  it('when the gateway lost the contact’s sender key, its retry receipt makes the contact resend the message pairwise with its key', async () => {
    const group = await api<GroupView>('POST', '/groups', { subject: 'Retries', participants: [account.phone, alice.phone] });
    const from = (text: string) =>
      waitForEvent(sock, 'messages.upsert', u => u.messages.some(m => m.key.remoteJid === group.jid && textOf(m) === text), 20_000);
    const first = from('first');
    await api('POST', `/contacts/${alice.phone}/messages`, { group: group.jid, text: 'first' });
    await first;
    // Simulate lost Signal state on the gateway side: Alice's sender key for the group and the session with her.
    const lost = [...auth.keys.keys()].filter(k => k.startsWith(`sender-key:${group.jid}::`) || (k.startsWith('session:') && k.includes(alice.lid)));
    expect(lost.some(k => k.startsWith('sender-key:'))).toBe(true);
    for (const k of lost) auth.keys.delete(k);

    const again = from('second');
    const { ids } = await api<{ ids: string[] }>('POST', `/contacts/${alice.phone}/messages`, { group: group.jid, text: 'second' });
    expect((await again).messages.find(m => textOf(m) === 'second')!.key).toMatchObject({ id: ids[0], participant: lidJid(alice) });
    const receipts = await api<ReceiptRecord[]>('GET', '/receipts');
    expect(receipts.some(r => r.contact === alice.phone && r.group === group.jid && r.type === 'retry' && r.ids.includes(ids[0]!))).toBe(true);

    // The key came with the resend: the next skmsg decrypts without another retry.
    const third = from('third');
    await api('POST', `/contacts/${alice.phone}/messages`, { group: group.jid, text: 'third' });
    await third;
  });
});

describe('a phone-number-addressed group', () => {
  it('names members by phone number, and messages go both ways', async () => {
    const group = await api<GroupView>('POST', '/groups', { subject: 'Legacy', participants: [account.phone, alice.phone], addressingMode: 'pn' });
    const meta = await sock.groupMetadata(group.jid);
    expect(meta.addressingMode).toBe('pn');
    expect(meta.participants.map(p => [p.id, p.lid])).toEqual([
      [`${account.phone}@s.whatsapp.net`, `${account.lid}@lid`],
      [alice.jid, lidJid(alice)],
    ]);

    const sent = await sock.sendMessage(group.jid, { text: 'pn hello' });
    expect(await inboxEntry(alice, sent!.key.id!)).toMatchObject({ text: 'pn hello', group: group.jid });

    const upsert = waitForEvent(sock, 'messages.upsert', u => u.messages.some(m => m.key.remoteJid === group.jid && textOf(m) === 'pn answer'));
    await api('POST', `/contacts/${alice.phone}/messages`, { group: group.jid, text: 'pn answer' });
    expect((await upsert).messages[0]!.key).toMatchObject({ participant: alice.jid, participantAlt: lidJid(alice) });
  });
});

describe('afterwards', () => {
  it('nothing failed to decrypt on the emulator side, and every group query was understood', async () => {
    expect(await api('GET', '/decrypt-failures')).toEqual([]);
    expect((await api<{ xmlns: string }[]>('GET', '/unknown-queries')).filter(q => q.xmlns === 'w:g2')).toEqual([]);
  });
});
