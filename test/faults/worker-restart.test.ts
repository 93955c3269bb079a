// Fault: the control plane (workerd: the Worker, its Durable Objects and its queues) is stopped in the
// middle of a burst of inbound messages and started again on the same state. While it is down the runners
// keep what they receive (their outbox retries; receipts are held, so WhatsApp keeps it too); what the
// intake had already taken sits in the events and webhook queues, which must survive the restart as
// Cloudflare Queues do (the local broker keeps its messages on disk: worker/queues/local-queue-durability).
// Every message must be stored exactly once and its webhook delivered, the connection staying linked.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allArrived, burst, eventually, linkConnection } from './scenario';
import { startFaultStack, type FaultStack } from './stack';

const MESSAGES = Number(process.env.FAULT_MESSAGES ?? 500);
const RESTART_AFTER = Math.floor(MESSAGES * 0.4);
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({ runners: 2 });
}, 180_000);
afterAll(async () => stack?.stop(), 120_000);

it(`workerd restarted after ${RESTART_AFTER} of a ${MESSAGES}-message burst: every message stored once, webhooks delivered, no new QR`, async () => {
  const link = await linkConnection(stack, 'worker-restart');
  const texts = Array.from({ length: MESSAGES }, (_, i) => `restart ${i + 1} 日本語 ✓`);
  let restart: Promise<void> | undefined;
  const ids = await burst(stack, link.contact, link.number, texts, {
    after: (sent) => {
      if (sent === RESTART_AFTER) restart = stack.restartWorker();
    },
  });
  await restart;
  const row = await allArrived(stack, link, ids, 'workerd restarted mid-burst', `restarted after ${RESTART_AFTER} sent`);
  expect(row).toMatchObject({ stored: MESSAGES, storedTwice: 0, webhooks: MESSAGES, lost: 0 });
  await eventually(async () => (await stack.api('GET', `/api/connections/${link.id}`)).body.status === 'connected', 'connected after the restart', 60_000);
  expect((await stack.api('GET', `/api/get-qr/${link.id}?wait=0`)).body.qr).toBeNull();
}, 600_000);
