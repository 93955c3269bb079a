// Fault: what a hostile or broken WhatsApp server (or contact) can send, aimed at one connection while a
// neighbour on the same runner carries ordinary traffic: a 65,536-character CJK text (192 KiB of UTF-8,
// past a queue message's 128 KB), emoji and lone surrogates, a push name of 100,000 bytes, and a burst of
// 1,000 messages sent as fast as the emulator can. Nothing may stall the pipeline: every message of both
// connections is stored once and its webhook delivered.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allArrived, burst, linkConnection, listMessages } from './scenario';
import { startFaultStack, type FaultStack } from './stack';

const BURST = Number(process.env.FAULT_BURST ?? 1000);
const NEIGHBOUR_MESSAGES = 100;
let stack: FaultStack;

beforeAll(async () => {
  // One runner: the hostile connection and its neighbour share its sessions, outbox and link.
  stack = await startFaultStack({ runners: 1 });
}, 180_000);
afterAll(async () => stack?.stop(), 120_000);

it(`hostile input (65,536 CJK characters, lone surrogates, a 100 KB push name, ${BURST} messages at once) stalls no one`, async () => {
  const hostile = await linkConnection(stack, 'hostile');
  const neighbour = await linkConnection(stack, 'neighbour');
  const pushName = '名'.repeat(33_334); // 100,002 bytes of UTF-8
  const attacker = (await stack.phone<{ phone: string }>('POST', '/contacts', { name: pushName })).phone;
  const send = async (text: string, count?: number) =>
    (await stack.phone<{ ids: string[] }>('POST', `/contacts/${attacker}/messages`, { to: hostile.number, text, ...(count ? { count } : {}) })).ids;

  const longest = '中'.repeat(65_536);
  const surrogates = 'emoji 👍🏽🇵🇰 lone \ud800 and \udfff surrogates';
  const neighbourTexts = Array.from({ length: NEIGHBOUR_MESSAGES }, (_, i) => `neighbour ${i + 1}`);
  // The neighbour's messages go while the hostile ones are under way.
  const [hostileIds, neighbourIds] = await Promise.all([
    (async () => [...(await send(longest)), ...(await send(surrogates)), ...(await send('burst', BURST))])(),
    burst(stack, neighbour.contact, neighbour.number, neighbourTexts, { concurrency: 2 }),
  ]);
  expect(hostileIds).toHaveLength(BURST + 2);

  const link = { id: hostile.id, contact: attacker };
  const row = await allArrived(stack, link, hostileIds, 'hostile input (one connection)', `65,536 CJK, lone surrogates, 100 KB push name, burst of ${BURST}`);
  expect(row).toMatchObject({ stored: BURST + 2, storedTwice: 0, lost: 0 });
  const neighbourRow = await allArrived(stack, neighbour, neighbourIds, 'hostile input (its neighbour)', 'same runner, ordinary texts');
  expect(neighbourRow).toMatchObject({ stored: NEIGHBOUR_MESSAGES, storedTwice: 0, lost: 0 });

  // Stored as sent: the long text whole; lone surrogates as WhatsApp's UTF-8 carries them (U+FFFD).
  const stored = await listMessages(stack, hostile.id, attacker);
  expect(stored.find((m) => m.provider_message_id === hostileIds[0])?.message).toBe(longest);
  expect(stored.find((m) => m.provider_message_id === hostileIds[1])?.message).toBe('emoji 👍🏽🇵🇰 lone \ufffd and \ufffd surrogates');
  // The push name is cut to a bound, on a character boundary.
  const hook = stack.sink.bodies.find((b) => b.event === 'message.received' && b.provider_message_id === hostileIds[1]);
  expect(Buffer.byteLength(hook.push_name)).toBeLessThanOrEqual(256);
  expect(pushName.startsWith(hook.push_name)).toBe(true);
  expect(hook.push_name.length).toBeGreaterThan(0);
}, 600_000);
