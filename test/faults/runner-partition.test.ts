// Fault: the runner holding a connection is frozen (SIGSTOP: a partition, as the control plane sees it)
// past the Scheduler's grace period, so its connection moves to the other runner; then it is thawed
// (SIGCONT) while the burst goes on. The old holder's writes must be refused where they must be, it must
// let go of the connection by itself, and no message may be lost or stored twice.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TEST_SCHEDULER_VARS } from '../harness/global-setup';
import { allArrived, burst, eventually, holderOf, linkConnection } from './scenario';
import { startFaultStack, type FaultStack } from './stack';

const MESSAGES = Number(process.env.FAULT_MESSAGES ?? 500);
const FREEZE_AFTER = Math.floor(MESSAGES * 0.2);
const FROZEN_MS = Number(TEST_SCHEDULER_VARS.SCHEDULER_GRACE_MS) * 3;
let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack({ runners: 2 });
}, 180_000);
afterAll(async () => stack?.stop(), 120_000);

const openSessions = async (httpUrl: string) => Number(/^runner_sessions\{state="open"\} (\d+)/m.exec(await (await fetch(`${httpUrl}/metrics`)).text())?.[1] ?? 0);

it(`holder frozen past the grace period after ${FREEZE_AFTER} of ${MESSAGES} messages, thawed later: every message stored once`, async () => {
  const link = await linkConnection(stack, 'partition');
  const holder = await holderOf(stack.runners);
  const other = stack.runners.find((r) => r !== holder)!;
  let thawed: Promise<void> | undefined;
  const ids = await burst(stack, link.contact, link.number, Array.from({ length: MESSAGES }, (_, i) => `partition ${i + 1}`), {
    after: async (sent) => {
      if (sent !== FREEZE_AFTER) return;
      holder.kill('SIGSTOP');
      thawed = (async () => {
        // The connection moves: the other runner holds it open while the first is still frozen.
        await eventually(async () => (await openSessions(other.httpUrl)) === 1, 'the connection open on the other runner', 60_000);
        await new Promise((r) => setTimeout(r, FROZEN_MS));
        holder.kill('SIGCONT');
      })();
    },
  });
  await thawed;
  const scenario = 'holder frozen (SIGSTOP) past the grace period, then thawed';
  const row = await allArrived(stack, link, ids, scenario, `frozen after ${FREEZE_AFTER} sent`);
  // The thawed runner learnt it lost the lease and let go; the other one keeps the connection.
  await eventually(async () => (await openSessions(holder.httpUrl)) === 0, 'the old holder to let go', 60_000);
  expect(await openSessions(other.httpUrl)).toBe(1);
  expect(row).toMatchObject({ stored: MESSAGES, storedTwice: 0, webhooks: MESSAGES, lost: 0 });
  await eventually(async () => (await stack.api('GET', `/api/connections/${link.id}`)).body.status === 'connected', 'connected', 30_000);
}, 600_000);
