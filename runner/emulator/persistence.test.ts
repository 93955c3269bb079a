// With a data file, the sandbox survives a restart: accounts, linked devices, contacts' Signal
// sessions, the root key and the media CA all come back, so a saved Baileys session logs in and keeps talking.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WASocket } from '@whiskeysockets/baileys';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from './emulator.js';
import { connectGateway, control, eventually, linkByQr, waitForEvent } from './testing.js';
import { trustEmulatorRoot } from './trust.js';

const dir = mkdtempSync(join(tmpdir(), 'emulator-'));
const dataFile = join(dir, 'state.json');
let emu: RunningEmulator | undefined;
let sock: WASocket | undefined;

afterAll(async () => {
  sock?.end(undefined);
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('persistence to EMULATOR_DATA_FILE', () => {
  it('a linked session and its contact conversations continue after an emulator restart', async () => {
    emu = await startEmulator({ port: 0, dataFile });
    trustEmulatorRoot(emu.rootPublicKey);
    const firstRoot = emu.rootPublicKey;
    const firstMediaCa = emu.mediaCaPem;
    const api = <T>(method: string, path: string, body?: unknown) => control<T>(emu!.controlUrl, method, path, body);
    const { phone } = await api<{ phone: string }>('POST', '/accounts', { name: 'Sandbox Tenant' });
    const linked = await linkByQr(emu, phone);
    sock = linked.sock;
    const grace = await api<{ phone: string; jid: string }>('POST', '/contacts', { name: 'Grace' });
    const first = waitForEvent(sock, 'messages.upsert', u => u.messages.some(m => m.message?.conversation === 'before restart'));
    await api('POST', `/contacts/${grace.phone}/messages`, { to: phone, text: 'before restart' });
    await first;
    await sock.sendMessage(grace.jid, { text: 'reply before restart' });
    await eventually(async () => ((await api<unknown[]>('GET', `/contacts/${grace.phone}/inbox`)).length === 1 ? true : undefined));

    sock.end(undefined);
    await emu.close();

    emu = await startEmulator({ port: 0, dataFile });
    expect(emu.rootPublicKey).toBe(firstRoot);
    // A runner that trusts the media CA (WA_MEDIA_CA) keeps trusting the restarted emulator.
    expect(emu.mediaCaPem).toBe(firstMediaCa);
    sock = connectGateway(emu.url, linked.auth);
    await waitForEvent(sock, 'connection.update', u => u.connection === 'open');
    const after = waitForEvent(sock, 'messages.upsert', u => u.messages.some(m => m.message?.conversation === 'after restart'));
    await api('POST', `/contacts/${grace.phone}/messages`, { to: phone, text: 'after restart' });
    await after;
    await sock.sendMessage(grace.jid, { text: 'reply after restart' });
    const inbox = await eventually(async () => {
      const box = await api<Array<{ text: string }>>('GET', `/contacts/${grace.phone}/inbox`);
      return box.length === 2 ? box : undefined;
    });
    expect(inbox.map(e => e.text)).toEqual(['reply before restart', 'reply after restart']);
  });
});
