// Linking companions to an emulated phone with real Baileys: QR, pairing code, re-login,
// several devices per account, logout, and the offline queue.
import { proto, type WASocket } from '@whiskeysockets/baileys';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from './emulator.js';
import { closeCode, connectGateway, control, eventually, linkByQr, memoryAuth, waitForEvent } from './testing.js';
import { trustEmulatorRoot } from './trust.js';

type AccountView = { phone: string; lid: string; name: string; devices: Array<{ id: number; online: boolean; queued: number }> };
type Contact = { phone: string; jid: string };

let emu: RunningEmulator;
const sockets: WASocket[] = [];
const api = <T>(method: string, path: string, body?: unknown) => control<T>(emu.controlUrl, method, path, body);
const track = (s: WASocket) => (sockets.push(s), s);

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
  trustEmulatorRoot(emu.rootPublicKey);
});
afterEach(() => {
  for (const s of sockets.splice(0)) s.end(undefined);
});
afterAll(async () => {
  await emu?.close();
});

describe('QR pairing', () => {
  it('QR → scan → 515 restart → open as a new device of the account, with name and LID', async () => {
    const account = await api<AccountView>('POST', '/accounts', { name: 'Acme Support' });
    const { sock, auth, restartCode } = await linkByQr(emu, account.phone);
    track(sock);
    expect(restartCode).toBe(515);
    expect(auth.creds.me).toMatchObject({ id: `${account.phone}:1@s.whatsapp.net`, name: 'Acme Support', lid: `${account.lid}:1@lid` });
    expect(auth.creds.registered || auth.creds.account).toBeTruthy();
    const view = await api<AccountView>('GET', `/accounts/${account.phone}`);
    expect(view.devices).toEqual([expect.objectContaining({ id: 1, online: true })]);
  });

  it('logs in again from saved creds without showing a QR', async () => {
    const account = await api<AccountView>('POST', '/accounts', {});
    const { sock, auth } = await linkByQr(emu, account.phone);
    const closed = waitForEvent(sock, 'connection.update', u => u.connection === 'close');
    sock.end(undefined);
    await closed;
    const again = track(connectGateway(emu.url, auth));
    const qrs: string[] = [];
    again.ev.on('connection.update', u => u.qr && qrs.push(u.qr));
    await waitForEvent(again, 'connection.update', u => u.connection === 'open');
    expect(qrs).toEqual([]);
  });

  it('refuses a QR whose keys do not belong to the connected client', async () => {
    const account = await api<AccountView>('POST', '/accounts', {});
    const sock = track(connectGateway(emu.url, memoryAuth()));
    const { qr } = await waitForEvent(sock, 'connection.update', u => !!u.qr);
    const parts = qr!.split(',');
    parts[1] = Buffer.alloc(32, 7).toString('base64'); // someone else's noise key
    await expect(api('POST', `/accounts/${account.phone}/scan`, { qr: parts.join(',') })).rejects.toThrow(/409/);
    expect((await api<AccountView>('GET', `/accounts/${account.phone}`)).devices).toEqual([]);
  });
});

describe('history sync', () => {
  it('with Baileys’ default history settings, the phone’s initial history sync completes Baileys’ initial sync at once', async () => {
    const account = await api<AccountView>('POST', '/accounts', { name: 'Default Config' });
    const defaults = { shouldSyncHistoryMessage: ({ syncType }: { syncType?: number | null }) => syncType !== proto.HistorySync.HistorySyncType.FULL };
    const { sock, auth } = await linkByQr(emu, account.phone, memoryAuth(), defaults as never);
    track(sock);
    const ivan = await api<Contact>('POST', '/contacts', { name: 'Ivan' });
    const started = Date.now();
    const got = waitForEvent(sock, 'messages.upsert', u => u.messages.some(m => m.message?.conversation === 'quick'), 8_000);
    await api('POST', `/contacts/${ivan.phone}/messages`, { to: account.phone, text: 'quick' });
    await got;
    expect(Date.now() - started).toBeLessThan(5_000);
    // Baileys counts a completed initial sync (history + app state) here.
    expect(auth.creds.accountSyncCounter).toBe(1);
  });

  it('the phone keeps its own decrypted copy of what a companion sends', async () => {
    const account = await api<AccountView>('POST', '/accounts', {});
    const { sock } = await linkByQr(emu, account.phone);
    track(sock);
    const judy = await api<Contact>('POST', '/contacts', { name: 'Judy' });
    await sock.sendMessage(judy.jid, { text: 'copy for the phone' });
    const copy = await eventually(async () => (await api<Array<{ text?: string; chat: string }>>('GET', `/accounts/${account.phone}/inbox`))[0]);
    expect(copy).toMatchObject({ chat: judy.jid });
    expect(JSON.stringify(copy)).toContain('copy for the phone');
  });
});

describe('pairing code', () => {
  it('requestPairingCode → code typed on the phone → 515 → open', async () => {
    const account = await api<AccountView>('POST', '/accounts', { name: 'Code Login' });
    const auth = memoryAuth();
    const sock = track(connectGateway(emu.url, auth));
    await waitForEvent(sock, 'connection.update', u => !!u.qr);
    const code = await sock.requestPairingCode(account.phone);
    expect(code).toMatch(/^[A-Z0-9]{8}$/);
    await eventually(async () => ((await api<Array<{ phone: string }>>('GET', '/pairing-requests')).some(r => r.phone === account.phone) ? true : undefined));
    const closed = waitForEvent(sock, 'connection.update', u => u.connection === 'close');
    const linked = await api<{ device: number }>('POST', `/accounts/${account.phone}/pairing-code`, { code });
    expect(linked.device).toBe(1);
    expect(closeCode(await closed)).toBe(515);
    const again = track(connectGateway(emu.url, auth));
    await waitForEvent(again, 'connection.update', u => u.connection === 'open');
    expect(auth.creds.me?.id).toBe(`${account.phone}:1@s.whatsapp.net`);
  });

  it('a wrong code does not link the companion', async () => {
    const account = await api<AccountView>('POST', '/accounts', {});
    const sock = track(connectGateway(emu.url, memoryAuth()));
    await waitForEvent(sock, 'connection.update', u => !!u.qr);
    const code = await sock.requestPairingCode(account.phone);
    await eventually(async () => ((await api<Array<{ phone: string }>>('GET', '/pairing-requests')).some(r => r.phone === account.phone) ? true : undefined));
    const wrong = code.startsWith('A') ? `B${code.slice(1)}` : `A${code.slice(1)}`;
    await expect(api('POST', `/accounts/${account.phone}/pairing-code`, { code: wrong })).rejects.toThrow(/409/);
    expect((await api<AccountView>('GET', `/accounts/${account.phone}`)).devices).toEqual([]);
  });
});

describe('several linked devices', () => {
  it('two companions on one account both receive a contact message, and one sees the other’s sent copy', async () => {
    const account = await api<AccountView>('POST', '/accounts', { name: 'Two Desks' });
    const a = await linkByQr(emu, account.phone);
    const b = await linkByQr(emu, account.phone);
    track(a.sock);
    track(b.sock);
    expect(a.auth.creds.me?.id).toBe(`${account.phone}:1@s.whatsapp.net`);
    expect(b.auth.creds.me?.id).toBe(`${account.phone}:2@s.whatsapp.net`);

    const erin = await api<Contact>('POST', '/contacts', { name: 'Erin' });
    const gotA = waitForEvent(a.sock, 'messages.upsert', u => u.messages.some(m => m.message?.conversation === 'to both desks'));
    const gotB = waitForEvent(b.sock, 'messages.upsert', u => u.messages.some(m => m.message?.conversation === 'to both desks'));
    await api('POST', `/contacts/${erin.phone}/messages`, { to: account.phone, text: 'to both desks' });
    await Promise.all([gotA, gotB]);

    const copy = waitForEvent(b.sock, 'messages.upsert', u =>
      u.messages.some(m => m.key.fromMe && (m.message?.conversation ?? m.message?.extendedTextMessage?.text) === 'answered from desk A'),
    );
    await a.sock.sendMessage(erin.jid, { text: 'answered from desk A' });
    const inbox = await eventually(async () => {
      const box = await api<Array<{ text: string; from: string }>>('GET', `/contacts/${erin.phone}/inbox`);
      return box.length ? box : undefined;
    });
    expect(inbox[0]).toMatchObject({ text: 'answered from desk A', from: `${account.phone}:1@s.whatsapp.net` });
    const { messages } = await copy;
    expect(messages[0]!.key.remoteJid).toBe(erin.jid);
  });
});

describe('logout and offline delivery', () => {
  it('the phone removing a device closes it with loggedOut (401), and its next login fails with 401', async () => {
    const account = await api<AccountView>('POST', '/accounts', {});
    const { sock, auth } = await linkByQr(emu, account.phone);
    track(sock);
    const closed = waitForEvent(sock, 'connection.update', u => u.connection === 'close');
    await api('POST', `/accounts/${account.phone}/devices/1/logout`);
    expect(closeCode(await closed)).toBe(401);
    const again = track(connectGateway(emu.url, auth));
    expect(closeCode(await waitForEvent(again, 'connection.update', u => u.connection === 'close'))).toBe(401);
  });

  it('sock.logout() unlinks the device on the phone', async () => {
    const account = await api<AccountView>('POST', '/accounts', {});
    const { sock } = await linkByQr(emu, account.phone);
    const closed = waitForEvent(sock, 'connection.update', u => u.connection === 'close');
    await sock.logout();
    expect(closeCode(await closed)).toBe(401);
    await eventually(async () => ((await api<AccountView>('GET', `/accounts/${account.phone}`)).devices.length === 0 ? true : undefined));
  });

  it('messages sent while the device is offline are delivered on its next login', async () => {
    const account = await api<AccountView>('POST', '/accounts', {});
    const { sock, auth } = await linkByQr(emu, account.phone);
    const frank = await api<Contact>('POST', '/contacts', { name: 'Frank' });
    const closed = waitForEvent(sock, 'connection.update', u => u.connection === 'close');
    sock.end(undefined);
    await closed;
    await api('POST', `/contacts/${frank.phone}/messages`, { to: account.phone, text: 'while you were away', count: 3 });
    // At least Frank's three; the phone's initial history sync is queued again too if the socket closed before acking it.
    const offline = (await api<AccountView>('GET', `/accounts/${account.phone}`)).devices[0]!;
    expect(offline.online).toBe(false);
    expect(offline.queued).toBeGreaterThanOrEqual(3);

    const again = track(connectGateway(emu.url, auth));
    const texts: string[] = [];
    again.ev.on('messages.upsert', ({ messages }) => texts.push(...messages.map(m => m.message?.conversation ?? '').filter(Boolean)));
    await waitForEvent(again, 'connection.update', u => u.connection === 'open');
    await eventually(() => (texts.length >= 3 ? true : undefined));
    expect(texts).toEqual(['while you were away 1', 'while you were away 2', 'while you were away 3']);
  });
});
