// Received media on loopback: emulated contacts send files (encrypted, on the emulator's HTTPS media host) to
// linked connections; for each, the runner downloads it with Baileys (streaming), streams it to the control
// plane (PUT /internal/media-in), which puts it in R2 (SHA-256 checked) and records it; only then does the
// message go on (events queue → Postgres → webhook), so the webhook's arrival marks the file stored. Beside
// it, in the same run, bare Baileys sessions on the same emulator download the same kind of files with
// `downloadMediaMessage` and read them to the end (the floor: a process that stores nothing). Figures: files
// per second and MB/s, and latency from the contact's send to the webhook (gateway) or the last byte (bare).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startBare } from './lib/bare.js';
import { startIpcChild } from './lib/ipc-child.js';
import { collectArrivals, cpuSnapshot, cpuUsedBetween, type Arrival, envNumber, mapLimit, runBench, summarize } from './lib/run.js';
import type { SinkRequest } from './lib/sink-child.js';
import { linkConnections, startBenchRunner, startBenchStack, startEmulatorProcess } from './lib/stack.js';

const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 2);
const CONTACTS = envNumber('BENCH_CONTACTS', 4);
const FILES = envNumber('BENCH_FILES', 60);
/** Size of each file, in KiB. */
const FILE_KIB = envNumber('BENCH_FILE_KIB', 512);
const CONCURRENCY = envNumber('BENCH_CONCURRENCY', 8);
const WARMUP = envNumber('BENCH_WARMUP', 8);
const ARRIVAL_TIMEOUT_MS = 300_000;
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT_MIN', 15) * 60_000;

await runBench('inbound-media', TIMEOUT_MS, async (ctx) => {
  const emulator = await startEmulatorProcess(ctx);
  const caPem = await (await fetch(`${emulator.controlUrl}/media-ca`)).text();
  const caFile = join(mkdtempSync(join(tmpdir(), 'bench-media-')), 'media-ca.pem');
  writeFileSync(caFile, caPem);
  const sink = await startIpcChild<Omit<SinkRequest, 'id'>>(join(dirname(fileURLToPath(import.meta.url)), 'lib/sink-child.ts'), { label: 'webhook sink' });
  ctx.defer('webhook sink', () => sink.stop());
  const sinkPort = await sink.call<number>({ op: 'listen' });

  const bare = await startBare(emulator, { mediaCaFile: caFile });
  ctx.defer('bare Baileys child', () => bare.stop());
  const bareLink = await bare.call<{ linked: number }>({ op: 'link', count: CONNECTIONS, concurrency: 2 }, 180_000);
  if (bareLink.linked !== CONNECTIONS) throw new Error(`bare Baileys linked ${bareLink.linked} of ${CONNECTIONS}`);
  const barePhones = await bare.call<string[]>({ op: 'phones' });

  const stack = await startBenchStack(ctx, emulator, { ALLOW_PRIVATE_WEBHOOK_TARGETS: `127.0.0.1:${sinkPort}` });
  await startBenchRunner(ctx, stack, { runnerId: 'bench-media-in', capacity: CONNECTIONS + 10, env: { WA_MEDIA_CA: caFile } });
  const link = await linkConnections(ctx, stack, { prefix: 'mi', start: 0, count: CONNECTIONS, concurrency: 2, budgetMs: 180_000 });
  if (link.linked.length !== CONNECTIONS) throw new Error(`linked ${link.linked.length} of ${CONNECTIONS}: ${link.failures.join('; ')}`);
  const gatewayPhones: string[] = [];
  for (const id of link.linked) {
    const res = await stack.api<{ phone_number: string }>('PATCH', `/api/connections/${id}/webhook`, { webhook_url: `http://127.0.0.1:${sinkPort}/hook/${id}` });
    if (res.status !== 200) throw new Error(`webhook for ${id}: ${res.status} ${JSON.stringify(res.body)}`);
    gatewayPhones.push(res.body.phone_number.replace(/^\+/, ''));
  }
  const contacts: string[] = [];
  for (let i = 0; i < CONTACTS; i++) contacts.push((await stack.phone<{ phone: string }>('POST', '/contacts', { name: `Contact ${i}` })).phone);
  const file = randomBytes(FILE_KIB * 1024).toString('base64');
  ctx.log(`${CONNECTIONS} connections (gateway) and ${CONNECTIONS} bare sessions linked; ${CONTACTS} contacts; files of ${FILE_KIB} KiB`);

  async function phase(label: string, targets: string[], count: number, take: () => Promise<Arrival[]>) {
    await take();
    const sentAt = new Map<string, number>();
    const items = Array.from({ length: count }, (_, i) => ({ contact: contacts[i % contacts.length]!, to: targets[i % targets.length]!, caption: `${label} ${i} ${Math.random().toString(36).slice(2, 8)}` }));
    const cpuBefore = cpuSnapshot();
    const started = Date.now();
    await mapLimit(items, CONCURRENCY, async (m) => {
      sentAt.set(m.caption, Date.now());
      await stack.phone('POST', `/contacts/${m.contact}/media`, { to: m.to, type: 'document', base64: file, fileName: 'bench.bin', mimetype: 'application/octet-stream', caption: m.caption });
    });
    const { latencies, last } = await collectArrivals(sentAt, take, started, ARRIVAL_TIMEOUT_MS);
    const seconds = (last - started) / 1000;
    return {
      sent: count,
      arrived: latencies.length,
      seconds: Math.round(seconds * 100) / 100,
      filesPerSecond: Math.round((latencies.length / seconds) * 10) / 10,
      mbPerSecond: Math.round(((latencies.length * FILE_KIB) / 1024 / seconds) * 100) / 100,
      ms: summarize(latencies),
      cpuSeconds: cpuUsedBetween(cpuBefore, cpuSnapshot()),
    };
  }
  const takeBare = () => bare.call<Arrival[]>({ op: 'take-received' });
  const takeSink = () => sink.call<Arrival[]>({ op: 'take' });

  await phase('warmup-bare', barePhones, Math.max(WARMUP, CONTACTS * CONNECTIONS), takeBare);
  await phase('warmup-gateway', gatewayPhones, Math.max(WARMUP, CONTACTS * CONNECTIONS), takeSink);
  const bareRun = await phase('bare', barePhones, FILES, takeBare);
  const gatewayRun = await phase('gateway', gatewayPhones, FILES, takeSink);
  if (gatewayRun.arrived < gatewayRun.sent) ctx.note(`only ${gatewayRun.arrived} of ${gatewayRun.sent} files arrived within ${ARRIVAL_TIMEOUT_MS / 1000} s`);
  const ratio = Math.round((gatewayRun.filesPerSecond / bareRun.filesPerSecond) * 100) / 100;
  const fmt = (s: ReturnType<typeof summarize>) => `p50 ${s.p50}  p90 ${s.p90}  p99 ${s.p99}  max ${s.max} ms`;
  const cpu = (r: typeof bareRun) => Object.entries(r.cpuSeconds).map(([k, v]) => `${k} ${v}`).join(', ');
  const gatewayPath = 'contact → emulator media host → runner (Baileys download, stream) → PUT /internal/media-in → R2 (sha256 checked) → events → Postgres → webhook';
  const barePath = 'contact → emulator media host → bare Baileys downloadMediaMessage (stream read to the end)';
  return {
    parameters: { connections: CONNECTIONS, contacts: CONTACTS, files: FILES, fileKiB: FILE_KIB, concurrency: CONCURRENCY, warmup: WARMUP },
    figures: { gateway: { path: gatewayPath, ...gatewayRun }, bare: { path: barePath, ...bareRun }, filesPerSecondRatio: ratio },
    summary: [
      `${FILES} files of ${FILE_KIB} KiB from ${CONTACTS} contacts to ${CONNECTIONS} accounts (${CONCURRENCY} sends in flight)`,
      `gateway (stored in R2, webhook) ${gatewayRun.filesPerSecond} files/s  ${gatewayRun.mbPerSecond} MB/s  ${fmt(gatewayRun.ms)}  (${gatewayRun.arrived}/${gatewayRun.sent})`,
      `bare Baileys download           ${bareRun.filesPerSecond} files/s  ${bareRun.mbPerSecond} MB/s  ${fmt(bareRun.ms)}  (${bareRun.arrived}/${bareRun.sent})`,
      `ratio ${ratio}`,
      `CPU (s), gateway: ${cpu(gatewayRun)}`,
      `CPU (s), bare: ${cpu(bareRun)}`,
    ],
  };
});
