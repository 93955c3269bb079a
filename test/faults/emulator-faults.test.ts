// Fault: WhatsApp's own ways of breaking a link, scripted by the emulator in the middle of a burst of
// inbound messages: stream error 515 (restart required), a dropped socket, 503 (service unavailable), and
// sends whose server acks come late. Each recoverable one ends in `connected` again with nothing lost;
// then a conflict (440: another client took the session) ends in `replaced`, and 401 (the phone removed
// the device) in `logged_out`, each for good and without a fight.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allArrived, burst, eventually, linkConnection } from './scenario';
import { startFaultStack, type FaultStack } from './stack';

const MESSAGES = Number(process.env.FAULT_MESSAGES ?? 500);
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({ runners: 2 });
}, 180_000);
afterAll(async () => stack?.stop(), 120_000);

const statusOf = async (id: string) => (await stack.api('GET', `/api/connections/${id}`)).body as { status: string; status_reason: string | null };
const connected = (id: string, what: string) => eventually(async () => (await statusOf(id)).status === 'connected', `${what}: connected again`, 90_000);

it(`515, a dropped socket and 503 during a ${MESSAGES}-message burst, then slow acks: connected again each time, nothing lost`, async () => {
  const link = await linkConnection(stack, 'emulator-faults');
  const fault = (body: Record<string, unknown>) => stack.phone<{ affected?: number }>('POST', `/accounts/${link.number}/faults`, body);
  const at = (share: number) => Math.floor(MESSAGES * share);
  const faults = new Map<number, Record<string, unknown>>([
    [at(0.2), { action: 'stream-error', code: 515 }],
    [at(0.45), { action: 'drop-socket' }],
    [at(0.7), { action: 'stream-error', code: 503 }],
  ]);
  const texts = Array.from({ length: MESSAGES }, (_, i) => `fault ${i + 1} ✓`);
  const hit: number[] = [];
  const ids = await burst(stack, link.contact, link.number, texts, {
    after: async (sent) => {
      const f = faults.get(sent);
      if (!f) return;
      // The previous fault's reconnection may still be under way (the burst does not wait for it):
      // strike a live link, or the fault tests nothing.
      await eventually(async () => (await stack.phone<{ devices: Array<{ online: boolean }> }>('GET', `/accounts/${link.number}`)).devices.some((d) => d.online), `online before fault at ${sent}`, 60_000);
      hit.push((await fault(f)).affected ?? 0);
    },
  });
  // Each fault broke a live link (the emulator counts the connections it hit).
  expect(hit).toEqual([1, 1, 1]);
  const row = await allArrived(stack, link, ids, 'emulator faults mid-burst (515, dropped socket, 503)', 'one connection, 2 runners');
  expect(row).toMatchObject({ stored: MESSAGES, storedTwice: 0, webhooks: MESSAGES, lost: 0 });
  await connected(link.id, 'after the burst');

  // Server acks 3 s late: sends are not failed for it, and each ends `sent` (or further) once its ack comes.
  await fault({ action: 'acks', mode: 'delay', delayMs: 3_000 });
  const sends = await Promise.all(
    [1, 2, 3].map((i) => stack.api('POST', '/api/send-message', { connection_id: link.id, to: link.contact, message: `slow ack ${i}`, client_message_id: `slow-ack-${i}` })),
  );
  for (const s of sends) expect(s.status, JSON.stringify(s.body)).toBeLessThan(300);
  await eventually(async () => {
    const list = (await stack.api('GET', `/api/messages/${link.id}/${link.contact}?limit=50`)).body as Array<{ client_message_id: string | null; status: string }>;
    const mine = list.filter((m) => m.client_message_id?.startsWith('slow-ack-'));
    return mine.length === 3 && mine.every((m) => ['sent', 'delivered', 'read'].includes(m.status));
  }, 'the slow-acked sends to be sent', 60_000);
  await stack.phone('DELETE', `/accounts/${link.number}/faults`);
}, 600_000);

it('a conflict (440) ends replaced, and 401 ends logged_out: no reconnection fights for the session', async () => {
  const replaced = await linkConnection(stack, 'fault-conflict');
  await stack.phone('POST', `/accounts/${replaced.number}/faults`, { action: 'stream-error', code: 'conflict' });
  await eventually(async () => (await statusOf(replaced.id)).status === 'replaced', 'replaced', 30_000);

  const removed = await linkConnection(stack, 'fault-device-removed');
  await stack.phone('POST', `/accounts/${removed.number}/faults`, { action: 'stream-error', code: 401 });
  await eventually(async () => (await statusOf(removed.id)).status === 'logged_out', 'logged_out', 30_000);

  // Both stay where they ended: neither runner reconnected them behind the user's back.
  await new Promise((r) => setTimeout(r, 5_000));
  expect((await statusOf(replaced.id)).status).toBe('replaced');
  expect((await statusOf(removed.id)).status).toBe('logged_out');
  for (const number of [replaced.number, removed.number]) {
    const account = await stack.phone<{ devices: Array<{ online: boolean }> }>('GET', `/accounts/${number}`);
    expect(account.devices.some((d) => d.online), `a device of ${number} is online again`).toBe(false);
  }
}, 300_000);
