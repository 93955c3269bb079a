// Scripted faults produce the connection.update Baileys gives for the real thing.
import { DisconnectReason, type BinaryNode, type WASocket } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from './emulator.js';
import { closeCode, connectGateway, control, eventually, linkByQr, waitForEvent, type MemoryAuth } from './testing.js';
import { trustEmulatorRoot } from './trust.js';

let emu: RunningEmulator;
let phone: string;
let auth: MemoryAuth;
let sock: WASocket;
const api = <T>(method: string, path: string, body?: unknown) => control<T>(emu.controlUrl, method, path, body);

const reconnect = async () => {
  sock = connectGateway(emu.url, auth);
  await waitForEvent(sock, 'connection.update', u => u.connection === 'open');
};

const closeCodeAfter = async (fault: Record<string, unknown>) => {
  const closed = waitForEvent(sock, 'connection.update', u => u.connection === 'close');
  const { affected } = await api<{ affected: number }>('POST', `/accounts/${phone}/faults`, fault);
  expect(affected).toBe(1);
  return closeCode(await closed);
};

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
  trustEmulatorRoot(emu.rootPublicKey);
  ({ phone } = await api<{ phone: string }>('POST', '/accounts', { name: 'Faulty' }));
  ({ sock, auth } = await linkByQr(emu, phone));
});
afterAll(async () => {
  sock?.end(undefined);
  await emu?.close();
});

describe('connection faults', () => {
  it('a dropped socket closes with connectionClosed (428)', async () => {
    expect(await closeCodeAfter({ action: 'drop-socket' })).toBe(DisconnectReason.connectionClosed);
    await reconnect();
  });

  it('stream:error 515 closes with restartRequired', async () => {
    expect(await closeCodeAfter({ action: 'stream-error', code: 515 })).toBe(DisconnectReason.restartRequired);
    await reconnect();
  });

  it('stream:error conflict closes with connectionReplaced (440)', async () => {
    expect(await closeCodeAfter({ action: 'stream-error', code: 'conflict' })).toBe(DisconnectReason.connectionReplaced);
    await reconnect();
  });

  it('a second login of the same device replaces the first (440 on the old one)', async () => {
    const old = sock;
    const replaced = waitForEvent(old, 'connection.update', u => u.connection === 'close');
    await reconnect();
    expect(closeCode(await replaced)).toBe(DisconnectReason.connectionReplaced);
  });

  it('stream:error 401 closes with loggedOut', async () => {
    expect(await closeCodeAfter({ action: 'stream-error', code: 401 })).toBe(DisconnectReason.loggedOut);
    await reconnect(); // the device is still linked: only the stream was ended
  });

  it('refused logins fail with the scripted reason until cleared', async () => {
    await api('POST', `/accounts/${phone}/faults`, { action: 'refuse-logins', reason: 403 });
    sock.end(undefined);
    sock = connectGateway(emu.url, auth);
    expect(closeCode(await waitForEvent(sock, 'connection.update', u => u.connection === 'close'))).toBe(DisconnectReason.forbidden);
    await api('DELETE', `/accounts/${phone}/faults`);
    await reconnect();
  });
});

describe('ack faults', () => {
  it('dropped acks: the message is still delivered but Baileys never sees the server ack', async () => {
    const contact = await api<{ phone: string; jid: string }>('POST', '/contacts', {});
    const acks: string[] = [];
    sock.ws.on('CB:ack,class:message', (n: BinaryNode) => acks.push(n.attrs.id!));
    await api('POST', `/accounts/${phone}/faults`, { action: 'acks', mode: 'drop' });
    const sent = await sock.sendMessage(contact.jid, { text: 'no ack for this' });
    await eventually(async () => ((await api<unknown[]>('GET', `/contacts/${contact.phone}/inbox`)).length ? true : undefined));
    await new Promise(r => setTimeout(r, 300));
    expect(acks).not.toContain(sent!.key.id);

    await api('POST', `/accounts/${phone}/faults`, { action: 'acks', mode: 'delay', delayMs: 400 });
    const started = Date.now();
    const late = await sock.sendMessage(contact.jid, { text: 'late ack' });
    await eventually(() => (acks.includes(late!.key.id!) ? true : undefined));
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    await api('DELETE', `/accounts/${phone}/faults`);
  });
});

describe('unknown queries', () => {
  it('get an empty result and are recorded', async () => {
    const reply = await sock.query({ tag: 'iq', attrs: { to: 's.whatsapp.net', type: 'get', xmlns: 'w:emulator-test' }, content: [{ tag: 'mystery', attrs: {} }] });
    expect(reply.attrs.type).toBe('result');
    const recorded = await api<Array<{ xmlns: string; child: string }>>('GET', '/unknown-queries');
    expect(recorded).toContainEqual(expect.objectContaining({ xmlns: 'w:emulator-test', child: 'mystery' }));
  });
});
