// Fault: the tenant's webhook endpoint is down for the whole retry schedule (compressed to seconds here,
// WEBHOOK_RETRY_SCHEDULE) while a burst arrives. Messages are stored regardless; every delivery ends
// `dead` after its last retry; once the endpoint is back, one replay delivers every one of them.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { burst, count, eventually, linkConnection, report } from './scenario';
import { startFaultStack, type FaultStack } from './stack';

const MESSAGES = Number(process.env.FAULT_WEBHOOK_MESSAGES ?? 200);
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({ runners: 1 });
}, 180_000);
afterAll(async () => stack?.stop(), 120_000);

it(`webhook endpoint down for the whole retry schedule: ${MESSAGES} deliveries end dead, one replay delivers them all`, async () => {
  const link = await linkConnection(stack, 'hook-outage');
  const since = new Date(Date.now() - 1000).toISOString();
  stack.sink.down = true;
  const ids = await burst(stack, link.contact, link.number, Array.from({ length: MESSAGES }, (_, i) => `hook ${i + 1}`));
  const scenario = 'webhook endpoint down through every retry, then replay';
  await eventually(async () => (await count(stack, link.id, link.contact, ids, scenario)).stored === MESSAGES, 'every message stored', 120_000, 1000);
  const dead = await eventually(
    async () => {
      const res = await stack.api<any[]>('GET', `/api/webhook-logs/${link.id}?state=dead&event=message.received&limit=500`);
      return res.body.length >= MESSAGES ? res.body : undefined;
    },
    'every delivery dead',
    120_000,
    1000,
  );
  expect(dead).toHaveLength(MESSAGES);
  expect(stack.sink.received().size).toBe(0);
  expect(stack.sink.refused).toBeGreaterThanOrEqual(MESSAGES * 4); // the first attempt and three retries each

  stack.sink.down = false;
  const replay = await stack.api('POST', `/api/connections/${link.id}/webhook/replay`, { since, states: ['dead'] });
  expect(replay.status).toBe(202);
  expect(replay.body.replayed).toBe(MESSAGES);
  const row = await eventually(
    async () => {
      const r = await count(stack, link.id, link.contact, ids, scenario);
      return r.webhooks === MESSAGES ? r : undefined;
    },
    'every delivery replayed',
    120_000,
    1000,
  );
  report({ ...row, note: `${MESSAGES} dead, replayed` });
  expect(row).toMatchObject({ stored: MESSAGES, storedTwice: 0, webhooks: MESSAGES, lost: 0 });
}, 600_000);
