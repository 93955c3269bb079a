// Benchmark harness: a hard time bound, cleanup of everything started (in reverse order) on success,
// failure, timeout or Ctrl-C, and the JSON result in bench/results/<name>.json with the machine and date.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

export interface BenchContext {
  /** Registers a cleanup; cleanups run last-in first-out, each bounded to 40 s. */
  defer(what: string, fn: () => Promise<unknown> | unknown): void;
  /** Milliseconds left before the hard time bound. */
  remainingMs(): number;
  /** A remark printed at the end and stored in the JSON (`notes`). */
  note(text: string): void;
  log(text: string): void;
}

export function machine() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpu: cpus[0]?.model ?? 'unknown',
    memoryMb: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

/** Child processes started by the benchmark: SIGKILLed on exit whatever happened (a last resort). */
const childPids = new Set<number>();
export function trackChild(pid: number | undefined) {
  if (pid) childPids.add(pid);
}
process.on('exit', () => {
  for (const pid of childPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number (got ${raw})`);
  return n;
}

export function envList(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (!raw) return fallback;
  const list = raw.split(',').map((s) => Number(s.trim()));
  if (list.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`${name} must be a comma-separated list of positive integers`);
  return list;
}

/** VmRSS of a process in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb[1]) * 1024;
}

/** CPU seconds (user + system) each live process has used so far, with a short label, from /proc. */
export function cpuSnapshot(): Map<number, { label: string; seconds: number }> {
  const ticksPerSecond = 100; // USER_HZ on Linux
  const out = new Map<number, { label: string; seconds: number }>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      out.set(pid, { label: processLabel(pid, cmdline), seconds });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

function processLabel(pid: number, argv: string[]): string {
  const joined = argv.join(' ');
  if (pid === process.pid) return 'bench process (Neon proxy; the emulator when in-process)';
  if (/timed-fetch-child/.test(joined)) return 'API client';
  if (/workerd/.test(argv[0] ?? '')) return 'workerd (Worker, Durable Objects, queues, R2)';
  if (/emulator\/main/.test(joined)) return 'emulator';
  if (/runner\/main/.test(joined)) return 'runner';
  if (/bare-child/.test(joined)) return 'bare Baileys';
  if (/wrangler/.test(joined)) return 'wrangler (node)';
  if (/postgres/.test(argv[0] ?? '')) return 'postgres';
  if (/esbuild/.test(argv[0] ?? '')) return 'esbuild';
  return 'other';
}

/** CPU seconds used per process label between two snapshots (processes that started meanwhile count in full). */
export function cpuUsedBetween(before: ReturnType<typeof cpuSnapshot>, after: ReturnType<typeof cpuSnapshot>): Record<string, number> {
  const used: Record<string, number> = {};
  for (const [pid, now] of after) {
    const delta = now.seconds - (before.get(pid)?.seconds ?? 0);
    if (delta > 0) used[now.label] = Math.round(((used[now.label] ?? 0) + delta) * 100) / 100;
  }
  return Object.fromEntries(Object.entries(used).sort((a, b) => b[1] - a[1]));
}

export const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 100) / 100;

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** p50/p90/p99/max/mean of samples in ms, rounded to 0.01 ms. */
export function summarize(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return {
    n: s.length,
    p50: round2(percentile(s, 50)),
    p90: round2(percentile(s, 90)),
    p99: round2(percentile(s, 99)),
    max: round2(s[s.length - 1] ?? NaN),
    min: round2(s[0] ?? NaN),
    mean: round2(mean),
  };
}

/** Runs `pool` workers over `items` at most `concurrency` at a time. */
/** A message seen at the far end (webhook sink or bare Baileys): its text and when it came. */
export type Arrival = { text: string | null; at: number };

/**
 * Takes arrivals until every text in `sentAt` (text → when it was sent) has come, or `timeoutMs` has
 * passed: each one's latency from its send, and when the last came (`started` if none did).
 */
export async function collectArrivals(sentAt: Map<string, number>, take: () => Promise<Arrival[]>, started: number, timeoutMs: number) {
  const count = sentAt.size;
  const latencies: number[] = [];
  let last = started;
  const deadline = Date.now() + timeoutMs;
  while (latencies.length < count && Date.now() < deadline) {
    for (const a of await take()) {
      const t0 = a.text === null ? undefined : sentAt.get(a.text);
      if (t0 === undefined) continue;
      sentAt.delete(a.text!);
      latencies.push(a.at - t0);
      last = Math.max(last, a.at);
    }
    if (latencies.length < count) await sleep(100);
  }
  return { latencies, last };
}

export async function mapLimit<T, R>(items: T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return out;
}

/**
 * Runs one benchmark: `body` returns the figures; they are written with the parameters, machine and date.
 * Exit code 0 on success, 1 on failure or timeout; every deferred cleanup runs in both cases.
 */
export async function runBench(
  name: string,
  timeoutMs: number,
  body: (ctx: BenchContext) => Promise<{ parameters: Record<string, unknown>; figures: Record<string, unknown>; summary: string[] }>,
): Promise<never> {
  const started = Date.now();
  const cleanups: { what: string; fn: () => Promise<unknown> | unknown }[] = [];
  const notes: string[] = [];
  const log = (text: string) => console.log(`[${name} +${((Date.now() - started) / 1000).toFixed(1)}s] ${text}`);
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const { what, fn } of cleanups.reverse()) {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            Promise.resolve().then(fn),
            new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), 40_000))),
          ]);
        } catch (e) {
          console.error(`[${name}] cleanup "${what}" failed: ${(e as Error).message}`);
        } finally {
          clearTimeout(timer);
        }
      }
    })());
  const abort = async (why: string) => {
    console.error(`[${name}] ${why}; cleaning up`);
    await cleanup();
    process.exit(1);
  };
  process.once('SIGINT', () => void abort('interrupted'));
  process.once('SIGTERM', () => void abort('terminated'));
  process.on('unhandledRejection', (e) => void abort(`unhandled rejection: ${(e as Error)?.stack ?? e}`));
  const hard = setTimeout(() => void abort(`hard time bound of ${Math.round(timeoutMs / 1000)} s reached`), timeoutMs);
  hard.unref();

  const ctx: BenchContext = {
    defer: (what, fn) => cleanups.push({ what, fn }),
    remainingMs: () => started + timeoutMs - Date.now(),
    note: (text) => {
      notes.push(text);
      log(`note: ${text}`);
    },
    log,
  };
  try {
    const { parameters, figures, summary } = await body(ctx);
    const result = {
      benchmark: name,
      parameters,
      ...figures,
      notes,
      machine: machine(),
      runSeconds: Math.round((Date.now() - started) / 1000),
      at: new Date().toISOString(),
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    const out = join(RESULTS_DIR, `${name}.json`);
    writeFileSync(out, JSON.stringify(result, null, 2));
    const m = result.machine;
    console.log(`\n${name} (${m.cores} cores, ${Math.round(m.memoryMb / 1024)} GB, node ${m.node}, ${result.runSeconds} s)`);
    for (const line of summary) console.log(`  ${line}`);
    for (const n of notes) console.log(`  note: ${n}`);
    console.log(`  → ${out}`);
    await cleanup();
    clearTimeout(hard);
    process.exit(0);
  } catch (e) {
    await abort(`failed: ${(e as Error).stack ?? e}`);
  }
  process.exit(1);
}
