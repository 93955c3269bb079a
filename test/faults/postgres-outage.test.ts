// Fault: Postgres stops for a minute in the middle of a burst of inbound messages, then starts again.
// Nothing may be lost and no manual step may be needed: the runners keep what they received (receipts
// held, so WhatsApp keeps it too) and the queues keep what the intake took, until Postgres is back.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allArrived, burst, count, eventually, linkConnection } from './scenario';
import { startFaultStack, type FaultStack } from './stack';

const MESSAGES = Number(process.env.FAULT_MESSAGES ?? 500);
const STOP_AFTER = Math.floor(MESSAGES * 0.2);
const OUTAGE_MS = Number(process.env.FAULT_POSTGRES_OUTAGE_MS ?? 60_000);
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({ runners: 2 });
}, 180_000);
afterAll(async () => stack?.stop(), 120_000);

it(`Postgres stopped for ${OUTAGE_MS / 1000} s mid-burst, then started: every message stored once and its webhook delivered`, async () => {
  const link = await linkConnection(stack, 'pg-outage');
  const texts = Array.from({ length: MESSAGES }, (_, i) => `pg ${i + 1} ünïcode`);
  let outage: Promise<void> | undefined;
  // The intake needs no Postgres (leases are checked at the Scheduler): a message sent during the outage is
  // accepted onto the queue, so the sender gets its delivery receipt while Postgres is still down.
  let receiptedDuringOutage: boolean | undefined;
  let probe = '';
  const ids = await burst(stack, link.contact, link.number, texts, {
    after: (sent) => {
      if (sent !== STOP_AFTER) return;
      outage = (async () => {
        await stack.stopPostgres();
        const started = Date.now();
        probe = (await stack.phone<{ ids: string[] }>('POST', `/contacts/${link.contact}/messages`, { to: link.number, text: 'during the outage' })).ids[0]!;
        receiptedDuringOutage = await eventually(async () => {
          const receipts = await stack.phone<Array<{ direction: string; ids: string[]; type: string }>>('GET', '/receipts');
          return receipts.some((r) => r.direction === 'gateway-to-contact' && r.type !== 'read' && r.ids.includes(probe));
        }, 'the delivery receipt during the outage', Math.min(20_000, OUTAGE_MS / 2)).catch(() => false);
        await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - started))));
        await stack.startPostgres();
      })();
    },
  });
  await outage;
  expect(receiptedDuringOutage).toBe(true);
  const scenario = `Postgres down ${OUTAGE_MS / 1000} s mid-burst`;
  const row = await allArrived(stack, link, ids, scenario, `stopped after ${STOP_AFTER} sent`);
  expect(row).toMatchObject({ stored: MESSAGES, storedTwice: 0, webhooks: MESSAGES, lost: 0 });
  expect((await stack.api('GET', `/api/connections/${link.id}`)).body.status).toBe('connected');
  expect((await count(stack, link.id, link.contact, [probe], scenario)).stored).toBe(1);
}, 600_000);
