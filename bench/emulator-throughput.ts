// Throughput one emulated contact can push through one real Baileys session and the emulator,
// each direction: this caps what the pipeline benchmarks can measure. Loopback only, bounded.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator } from '../runner/emulator/emulator.js';
import { control, eventually, linkByQr } from '../runner/emulator/testing.js';
import { trustEmulatorRoot } from '../runner/emulator/trust.js';

const WARMUP = 20;
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 500);
const TIMEOUT_MS = 45_000;

const emu = await startEmulator({ port: 0 });
trustEmulatorRoot(emu.rootPublicKey);
const api = <T>(method: string, path: string, body?: unknown) => control<T>(emu.controlUrl, method, path, body);
const { phone } = await api<{ phone: string }>('POST', '/accounts', { name: 'Bench' });
const { sock } = await linkByQr(emu, phone);
const contact = await api<{ phone: string; jid: string }>('POST', '/contacts', { name: 'Bench Contact' });
const inboxSize = async () => (await api<unknown[]>('GET', `/contacts/${contact.phone}/inbox`)).length;

let upserts = 0;
sock.ev.on('messages.upsert', ({ messages }) => {
  upserts += messages.filter(m => m.key.remoteJid === contact.jid && !m.key.fromMe).length;
});

// Warm both sessions up (pre-key messages, device lookups) so the figures are steady state.
await api('POST', `/contacts/${contact.phone}/messages`, { to: phone, text: 'warmup', count: WARMUP });
for (let i = 0; i < WARMUP; i++) await sock.sendMessage(contact.jid, { text: `warmup ${i}` });
await eventually(async () => (upserts >= WARMUP && (await inboxSize()) >= WARMUP ? true : undefined), TIMEOUT_MS);

// Gateway → contact: sequential sendMessage, done when the contact has decrypted all of them.
const outStart = performance.now();
for (let i = 0; i < MESSAGES; i++) await sock.sendMessage(contact.jid, { text: `out ${i}` });
await eventually(async () => ((await inboxSize()) >= WARMUP + MESSAGES ? true : undefined), TIMEOUT_MS, 5);
const outMs = performance.now() - outStart;

// Contact → gateway: one burst, done when Baileys has emitted every messages.upsert.
const inStart = performance.now();
await api('POST', `/contacts/${contact.phone}/messages`, { to: phone, text: 'in', count: MESSAGES });
await eventually(() => (upserts >= WARMUP + MESSAGES ? true : undefined), TIMEOUT_MS, 5);
const inMs = performance.now() - inStart;

const result = {
  benchmark: 'emulator-throughput',
  messages: MESSAGES,
  gatewayToContact: { ms: Math.round(outMs), perSecond: Math.round((MESSAGES / outMs) * 1000) },
  contactToGateway: { ms: Math.round(inMs), perSecond: Math.round((MESSAGES / inMs) * 1000) },
  node: process.version,
  at: new Date().toISOString(),
};
console.log(`emulator-throughput: ${MESSAGES} msgs each way on one Baileys session`);
console.log(`  gateway → contact: ${result.gatewayToContact.perSecond} msg/s (${result.gatewayToContact.ms} ms)`);
console.log(`  contact → gateway: ${result.contactToGateway.perSecond} msg/s (${result.contactToGateway.ms} ms)`);

const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'emulator-throughput.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(result, null, 2));

sock.end(undefined);
await emu.close();
process.exit(0);
