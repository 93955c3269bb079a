// What holding delivery receipts costs (runner/receipt-gate.ts): a contact sends a message and waits for
// the gateway's delivery receipt (its second tick). The runner sends it only once the control plane has
// accepted the message (POST /internal/events answered), instead of at once as Baileys does.
// Measured from the moment the bench asks the contact to send until the emulator has the receipt, beside
// the same for a bare Baileys session on the same emulator in the same run (the floor: Baileys receipting
// at once). Sends are sequential and interleaved, one bare and one to the gateway, so both see the same load.
import { startBare } from './lib/bare.js';
import { envNumber, runBench, sleep, summarize } from './lib/run.js';
import { linkConnections, startBenchRunner, startBenchStack, startEmulatorProcess } from './lib/stack.js';

const SENDS = envNumber('BENCH_SENDS', 200);
const WARMUP = envNumber('BENCH_WARMUP', 20);
/** Pause between two sends: each message is receipted alone, as a person's messages are. */
const GAP_MS = envNumber('BENCH_GAP_MS', 100);
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT_MIN', 10) * 60_000;

type Receipt = { direction: string; ids: string[]; type: string; at: number };

await runBench('receipt-latency', TIMEOUT_MS, async (ctx) => {
  const emulator = await startEmulatorProcess(ctx);
  const bare = await startBare(emulator);
  ctx.defer('bare Baileys child', () => bare.stop());
  const bareLink = await bare.call<{ linked: number }>({ op: 'link', count: 1, concurrency: 1 }, 120_000);
  if (bareLink.linked !== 1) throw new Error('bare Baileys session did not link');
  const [barePhone] = await bare.call<string[]>({ op: 'phones' });

  const stack = await startBenchStack(ctx, emulator);
  await startBenchRunner(ctx, stack, { runnerId: 'bench-receipts', capacity: 10 });
  const link = await linkConnections(ctx, stack, { prefix: 'rcpt', start: 0, count: 1, concurrency: 1, budgetMs: 120_000 });
  if (link.linked.length !== 1) throw new Error(`the connection did not link: ${link.failures.join('; ')}`);
  const gatewayPhone = ((await stack.api<{ phone_number: string }>('GET', `/api/connections/${link.linked[0]}`)).body.phone_number ?? '').replace(/^\+/, '');
  const contact = (await stack.phone<{ phone: string }>('POST', '/contacts', { name: 'Receipt contact' })).phone;

  const sentAt = new Map<string, { to: 'bare' | 'gateway'; at: number }>();
  const send = async (to: 'bare' | 'gateway', text: string, measured: boolean) => {
    const at = Date.now();
    const { ids } = await stack.phone<{ ids: string[] }>('POST', `/contacts/${contact}/messages`, { to: to === 'bare' ? barePhone : gatewayPhone, text });
    if (measured) sentAt.set(ids[0]!, { to, at });
  };
  for (let i = 0; i < WARMUP; i++) {
    await send('bare', `warmup ${i}`, false);
    await send('gateway', `warmup ${i}`, false);
    await sleep(GAP_MS);
  }
  ctx.log(`warm-up done (${WARMUP} each); measuring ${SENDS} sends each, interleaved, ${GAP_MS} ms apart`);
  for (let i = 0; i < SENDS; i++) {
    await send('bare', `bare ${i}`, true);
    await send('gateway', `gateway ${i}`, true);
    await sleep(GAP_MS);
  }
  await sleep(3000);
  const receipted = new Map<string, number>();
  for (const r of await stack.phone<Receipt[]>('GET', '/receipts')) {
    if (r.direction !== 'gateway-to-contact' || r.type === 'read') continue;
    for (const id of r.ids) if (!receipted.has(id)) receipted.set(id, r.at);
  }
  const latency = { bare: [] as number[], gateway: [] as number[] };
  let missing = 0;
  for (const [id, { to, at }] of sentAt) {
    const got = receipted.get(id);
    if (got === undefined) missing++;
    else latency[to].push(got - at);
  }
  if (missing) ctx.note(`${missing} messages never receipted`);
  const gatewayStats = summarize(latency.gateway);
  const bareStats = summarize(latency.bare);
  const costP50 = Math.round((gatewayStats.p50 - bareStats.p50) * 10) / 10;
  const fmt = (s: ReturnType<typeof summarize>) => `p50 ${s.p50}  p90 ${s.p90}  p99 ${s.p99}  max ${s.max} ms`;
  return {
    parameters: { sends: SENDS, warmup: WARMUP, gapMs: GAP_MS, order: 'sequential, bare and gateway interleaved' },
    figures: {
      gateway: { path: 'contact sends → runner decrypts → event accepted by POST /internal/events → delivery receipt', ms: gatewayStats },
      bare: { path: 'contact sends → bare Baileys decrypts → delivery receipt at once', ms: bareStats },
      costP50Ms: costP50,
      missing,
    },
    summary: [
      `${SENDS} sends each after ${WARMUP} warm-up, interleaved, ${GAP_MS} ms apart`,
      `gateway (receipt held until stored)  ${fmt(gatewayStats)}`,
      `bare Baileys (receipt at once)       ${fmt(bareStats)}`,
      `cost of holding the receipt at p50: ${costP50} ms${missing ? `; ${missing} never receipted` : ''}`,
    ],
  };
});
