// Fault: the runner holding a connection is killed with SIGKILL in the middle of a burst of inbound
// messages. Its outbox journal is off, as on a lost disk: what it had received but not handed over exists
// nowhere but in WhatsApp, which delivers it again because its receipt was never sent. Every message must
// be stored exactly once and its webhook delivered, and the connection resume on the other runner without
// a QR.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allArrived, burst, holderOf, linkConnection } from './scenario';
import { startFaultStack, type FaultStack } from './stack';

const MESSAGES = Number(process.env.FAULT_MESSAGES ?? 500);
const KILL_AFTER = Math.floor(MESSAGES * 0.4);
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({ runners: 2 });
}, 180_000);
afterAll(async () => stack?.stop(), 120_000);

it(`runner SIGKILLed after ${KILL_AFTER} of a ${MESSAGES}-message burst: every message stored once, webhooks delivered, no new QR`, async () => {
  const link = await linkConnection(stack, 'kill-burst');
  const holder = await holderOf(stack.runners);
  const texts = Array.from({ length: MESSAGES }, (_, i) => `burst ${i + 1} 中文 ✓`);
  const ids = await burst(stack, link.contact, link.number, texts, {
    after: (sent) => {
      if (sent === KILL_AFTER) holder.kill('SIGKILL');
    },
  });
  await holder.exited;
  const row = await allArrived(stack, link, ids, 'runner SIGKILL mid-burst (no journal)', `killed after ${KILL_AFTER} sent`);
  expect(row).toMatchObject({ stored: MESSAGES, storedTwice: 0, webhooks: MESSAGES, lost: 0 });
  // The survivor holds it now, linked as before: no QR was needed.
  const connection = (await stack.api('GET', `/api/connections/${link.id}`)).body;
  expect(connection.status).toBe('connected');
  expect((await stack.api('GET', `/api/get-qr/${link.id}?wait=0`)).body.qr).toBeNull();
  expect(stack.runners.filter((r) => r.child.exitCode === null && r.child.signalCode === null)).toHaveLength(1);
}, 420_000);
