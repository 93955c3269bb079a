// Inbound pipeline on loopback: emulated contacts send messages to several linked connections; each goes
// runner → POST /internal/events → queue → Postgres (with its webhook delivery in the same transaction) →
// webhooks queue → a signed POST to a webhook endpoint. Measured from the moment the bench asks the contact
// to send until the endpoint has the message, beside the same contacts sending to bare Baileys sessions on
// the same emulator in the same run (the floor: what a process with no gateway receives). Goal: at least
// 0.5× the bare rate, p99 under 1 s. The emulator, bare Baileys and the webhook endpoint each run in a
// process of their own, as they are other machines in production.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBare } from './lib/bare.js';
import { startIpcChild } from './lib/ipc-child.js';
import { collectArrivals, cpuSnapshot, cpuUsedBetween, type Arrival, envNumber, mapLimit, runBench, sleep, summarize } from './lib/run.js';
import type { SinkRequest } from './lib/sink-child.js';
import { linkConnections, startBenchRunner, startBenchStack, startEmulatorProcess } from './lib/stack.js';

const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 4);
const CONTACTS = envNumber('BENCH_CONTACTS', 8);
/** The burst: this many messages as fast as the contacts can send them (at most CONCURRENCY in flight): the top rate. */
const MESSAGES = envNumber('BENCH_MESSAGES', 1000);
/** The sustained run: messages at a steady rate for a while; its latency is the one users see. */
const RATE = envNumber('BENCH_RATE', 100);
const SUSTAINED_SECONDS = envNumber('BENCH_SECONDS', 20);
const WARMUP = envNumber('BENCH_WARMUP', 40);
const CONCURRENCY = envNumber('BENCH_CONCURRENCY', 16);
const ARRIVAL_TIMEOUT_MS = 180_000;
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT_MIN', 15) * 60_000;

await runBench('inbound-pipeline', TIMEOUT_MS, async (ctx) => {
  const emulator = await startEmulatorProcess(ctx);
  const sink = await startIpcChild<Omit<SinkRequest, 'id'>>(join(dirname(fileURLToPath(import.meta.url)), 'lib/sink-child.ts'), { label: 'webhook sink' });
  ctx.defer('webhook sink', () => sink.stop());
  const sinkPort = await sink.call<number>({ op: 'listen' });

  const bare = await startBare(emulator);
  ctx.defer('bare Baileys child', () => bare.stop());
  const bareLink = await bare.call<{ linked: number }>({ op: 'link', count: CONNECTIONS, concurrency: 2 }, 180_000);
  if (bareLink.linked !== CONNECTIONS) throw new Error(`bare Baileys linked ${bareLink.linked} of ${CONNECTIONS}`);
  const barePhones = await bare.call<string[]>({ op: 'phones' });

  const stack = await startBenchStack(ctx, emulator, { ALLOW_PRIVATE_WEBHOOK_TARGETS: `127.0.0.1:${sinkPort}` });
  await startBenchRunner(ctx, stack, { runnerId: 'bench-inbound', capacity: CONNECTIONS + 10 });
  const link = await linkConnections(ctx, stack, { prefix: 'in', start: 0, count: CONNECTIONS, concurrency: 2, budgetMs: 180_000 });
  if (link.linked.length !== CONNECTIONS) throw new Error(`linked ${link.linked.length} of ${CONNECTIONS}: ${link.failures.join('; ')}`);
  const gatewayPhones: string[] = [];
  for (const id of link.linked) {
    const res = await stack.api<{ phone_number: string }>('PATCH', `/api/connections/${id}/webhook`, { webhook_url: `http://127.0.0.1:${sinkPort}/hook/${id}` });
    if (res.status !== 200) throw new Error(`webhook for ${id}: ${res.status} ${JSON.stringify(res.body)}`);
    gatewayPhones.push(res.body.phone_number.replace(/^\+/, ''));
  }
  const contacts: string[] = [];
  for (let i = 0; i < CONTACTS; i++) contacts.push((await stack.phone<{ phone: string }>('POST', '/contacts', { name: `Contact ${i}` })).phone);
  ctx.log(`${CONNECTIONS} connections (gateway) and ${CONNECTIONS} bare sessions linked; ${CONTACTS} contacts`);

  /**
   * Sends `count` messages from the contacts to `targets` (as fast as CONCURRENCY allows, or paced at
   * `rate` per second) and waits until `take` has all of them.
   */
  async function phase(label: string, targets: string[], count: number, take: () => Promise<Arrival[]>, rate?: number) {
    await take(); // anything left from before
    const sentAt = new Map<string, number>();
    const items = Array.from({ length: count }, (_, i) => ({
      contact: contacts[i % contacts.length]!,
      to: targets[i % targets.length]!,
      text: `${label} ${i} ${Math.random().toString(36).slice(2, 8)}`,
    }));
    const cpuBefore = cpuSnapshot();
    const started = Date.now();
    await mapLimit(items, rate ? 256 : CONCURRENCY, async (m, i) => {
      if (rate) await sleep(started + (i * 1000) / rate - Date.now());
      sentAt.set(m.text, Date.now());
      await stack.phone('POST', `/contacts/${m.contact}/messages`, { to: m.to, text: m.text });
    });
    const sendsDone = Date.now();
    const { latencies, last } = await collectArrivals(sentAt, take, started, ARRIVAL_TIMEOUT_MS);
    const seconds = (last - started) / 1000;
    return {
      sent: count,
      arrived: latencies.length,
      seconds: Math.round(seconds * 100) / 100,
      sendSeconds: Math.round(((sendsDone - started) / 1000) * 100) / 100,
      perSecond: Math.round((latencies.length / seconds) * 10) / 10,
      ms: summarize(latencies),
      cpuSeconds: cpuUsedBetween(cpuBefore, cpuSnapshot()),
    };
  }
  const takeBare = () => bare.call<Arrival[]>({ op: 'take-received' });
  const takeSink = () => sink.call<Arrival[]>({ op: 'take' });

  // Warm-up: Signal sessions between every contact and every account, pools, JIT.
  await phase('warmup-bare', barePhones, Math.max(WARMUP, CONTACTS * CONNECTIONS), takeBare);
  await phase('warmup-gateway', gatewayPhones, Math.max(WARMUP, CONTACTS * CONNECTIONS), takeSink);
  ctx.log(`warm-up done; a burst of ${MESSAGES} messages each (${CONCURRENCY} sends in flight), then ${RATE}/s for ${SUSTAINED_SECONDS} s each`);
  const bareBurst = await phase('bare-burst', barePhones, MESSAGES, takeBare);
  const gatewayBurst = await phase('gateway-burst', gatewayPhones, MESSAGES, takeSink);
  ctx.log(`burst: bare ${bareBurst.perSecond}/s, gateway ${gatewayBurst.perSecond}/s`);
  const bareRun = await phase('bare', barePhones, RATE * SUSTAINED_SECONDS, takeBare, RATE);
  const gatewayRun = await phase('gateway', gatewayPhones, RATE * SUSTAINED_SECONDS, takeSink, RATE);
  ctx.log(`sustained ${RATE}/s: bare p99 ${bareRun.ms.p99} ms, gateway p99 ${gatewayRun.ms.p99} ms`);
  for (const r of [gatewayBurst, gatewayRun]) if (r.arrived < r.sent) ctx.note(`only ${r.arrived} of ${r.sent} webhooks arrived within ${ARRIVAL_TIMEOUT_MS / 1000} s`);

  const ratio = Math.round((gatewayBurst.perSecond / bareBurst.perSecond) * 100) / 100;
  const complete = gatewayBurst.arrived === gatewayBurst.sent && gatewayRun.arrived === gatewayRun.sent;
  const goalMet = ratio >= 0.5 && gatewayRun.ms.p99 < 1000 && complete;
  const fmt = (s: ReturnType<typeof summarize>) => `p50 ${s.p50}  p90 ${s.p90}  p99 ${s.p99}  max ${s.max} ms`;
  const cpu = (r: typeof bareRun) => Object.entries(r.cpuSeconds).map(([k, v]) => `${k} ${v}`).join(', ');
  const gatewayPath = 'contact → emulator → runner → events queue → Postgres (+ outbox) → webhooks queue → signed POST to the endpoint';
  const barePath = 'contact → emulator → bare Baileys messages.upsert';
  return {
    parameters: { connections: CONNECTIONS, contacts: CONTACTS, burstMessages: MESSAGES, concurrency: CONCURRENCY, rate: RATE, sustainedSeconds: SUSTAINED_SECONDS, warmup: WARMUP },
    figures: {
      burst: { gateway: { path: gatewayPath, ...gatewayBurst }, bare: { path: barePath, ...bareBurst } },
      sustained: { gateway: { path: gatewayPath, ...gatewayRun }, bare: { path: barePath, ...bareRun } },
      rateRatio: ratio,
      goal: 'gateway top rate ≥ 0.5 × bare top rate, and p99 < 1 s at a sustained rate, every message delivered',
      goalMet,
    },
    summary: [
      `${CONTACTS} contacts → ${CONNECTIONS} accounts; burst of ${MESSAGES} (${CONCURRENCY} sends in flight), then ${RATE}/s for ${SUSTAINED_SECONDS} s`,
      `burst, gateway (webhook endpoint) ${gatewayBurst.perSecond}/s  ${fmt(gatewayBurst.ms)}  (${gatewayBurst.arrived}/${gatewayBurst.sent})`,
      `burst, bare Baileys               ${bareBurst.perSecond}/s  ${fmt(bareBurst.ms)}  (${bareBurst.arrived}/${bareBurst.sent})`,
      `${RATE}/s, gateway                   ${gatewayRun.perSecond}/s  ${fmt(gatewayRun.ms)}  (${gatewayRun.arrived}/${gatewayRun.sent})`,
      `${RATE}/s, bare Baileys              ${bareRun.perSecond}/s  ${fmt(bareRun.ms)}  (${bareRun.arrived}/${bareRun.sent})`,
      `top-rate ratio ${ratio} (goal ≥ 0.5), sustained gateway p99 ${gatewayRun.ms.p99} ms (goal < 1000) → ${goalMet ? 'met' : 'NOT met'}`,
      `CPU (s), gateway burst: ${cpu(gatewayBurst)}`,
      `CPU (s), bare burst: ${cpu(bareBurst)}`,
    ],
  };
});
