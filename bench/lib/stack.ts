// The whole path on loopback for the benchmarks: the WhatsApp Web emulator (in this process), Postgres
// (embedded in a temp dir, or a fresh database on DATABASE_URL's server), the Worker in workerd, a tenant,
// and runner processes pointed at the emulator. Connections are linked only through the public API, with
// the emulator's phones scanning the QR. Everything started is registered with the harness for cleanup.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import WebSocket from 'ws';
import { startEmulator, type RunningEmulator } from '../../runner/emulator/index.js';
import { control } from '../../runner/emulator/testing.js';
import { createDatabase, dropDatabase, openDb } from '../../scripts/lib/database.js';
import { freePort } from '../../scripts/lib/ports.js';
import { buildRunnerBundle } from '../../scripts/lib/runner-bundle.js';
import { startRunner, type RunnerProcess } from '../../scripts/lib/runner-process.js';
import { startStack } from '../../scripts/lib/stack.js';
import { createTenant } from '../../scripts/lib/tenants.js';
import { mapLimit, rssBytes, sleep, trackChild, type BenchContext } from './run.js';

const EMULATOR_MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'runner', 'emulator', 'main.ts');

/** What the benchmarks use of an emulator, whether it runs in this process or in its own. */
export type BenchEmulator = Pick<RunningEmulator, 'url' | 'controlUrl' | 'rootPublicKey'>;

export interface BenchStack {
  url: string;
  /** The stack's local data (the Worker's bundle is in wrangler/bundle/index.js). */
  dataDir: string;
  workerInspectorPort: number;
  emulator: BenchEmulator;
  databaseUrl: string;
  /** The credential of a runner id (each runner has its own; issued on first use). */
  runnerToken(runnerId: string): Promise<string>;
  apiKey: string;
  tenantId: string;
  pool: pg.Pool;
  api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T; serverTiming: string | null }>;
  phone<T = any>(method: string, path: string, body?: unknown): Promise<T>;
}

export async function startEmulatorFor(ctx: BenchContext): Promise<RunningEmulator> {
  const emu = await startEmulator({ port: 0 });
  ctx.defer('emulator', () => emu.close());
  return emu;
}

/**
 * The emulator in a process of its own (`npm run emulator`), as WhatsApp is another machine in
 * production: its contacts' decryption then does not share an event loop with the local Neon proxy.
 */
export async function startEmulatorProcess(ctx: BenchContext): Promise<BenchEmulator> {
  const child = spawn(process.execPath, ['--import', 'tsx', EMULATOR_MAIN], {
    env: { ...process.env, EMULATOR_PORT: String(await freePort()) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  trackChild(child.pid);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  ctx.defer('emulator process', async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await exited;
  });
  return new Promise<BenchEmulator>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`emulator process exited (${code}) before it was ready`)));
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n').slice(0, -1)) {
        const ready = /^\{.*"event":"emulator\.ready"/.test(line) ? (JSON.parse(line) as BenchEmulator) : undefined;
        if (ready) resolve({ url: ready.url, controlUrl: ready.controlUrl, rootPublicKey: ready.rootPublicKey });
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    });
  });
}

/** Request limits and tenant quotas far above what any benchmark does. */
const BENCH_LIMIT_VARS = {
  API_LIMIT_PER_KEY: '1000000/60',
  TENANT_MAX_CONNECTIONS: '100000',
  TENANT_MAX_UNLINKED_SESSIONS: '100000',
  TENANT_SENDS_PER_MINUTE: '1000000',
};

export async function startBenchStack(ctx: BenchContext, emulator: BenchEmulator, vars: Record<string, string> = {}): Promise<BenchStack> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchboard-bench-'));
  await chmod(dataDir, 0o755); // embedded Postgres runs as the postgres user when we are root
  ctx.defer('temp data dir', () => rm(dataDir, { recursive: true, force: true }));
  let databaseUrl: string | undefined;
  const server = process.env.DATABASE_URL;
  if (server) {
    const name = `sb_bench_${Date.now()}_${process.pid}`;
    databaseUrl = await createDatabase(server, name);
    ctx.defer('bench database', () => dropDatabase(server, name));
  }
  let tenant: { apiKey: string; tenantId: string } | undefined;
  ctx.log(`starting ${server ? 'a database on DATABASE_URL' : 'embedded Postgres'} and the Worker in workerd`);
  const stack = await startStack({
    dashboard: 'if-missing',
    dataDir,
    port: await freePort(),
    databaseUrl,
    // Abuse limits off: a benchmark measures the gateway, not its limits (docs/benchmarks.md).
    vars: { ...BENCH_LIMIT_VARS, ...vars },
    // One prebuilt bundle: no esbuild watcher (it died under linking load) and no reloads mid-run.
    prebuilt: true,
    log: (line) => {
      if (/error|✘/i.test(line) && !/"level":"(info|warn)"/.test(line)) process.stderr.write(`${line}\n`);
    },
    beforeWorker: async (url) => {
      const db = openDb(url);
      try {
        tenant = await createTenant(db, { name: 'bench', email: `bench-${Date.now()}@example.test` });
      } finally {
        await db.$client.end();
      }
    },
  });
  ctx.defer('control plane (Worker, Postgres)', () => stack.stop());
  const pool = new pg.Pool({ connectionString: stack.databaseUrl, max: 2 });
  pool.on('error', () => undefined); // idle clients dropped when Postgres stops during cleanup
  ctx.defer('database pool', () => pool.end());
  const api = async <T>(method: string, p: string, body?: unknown) => {
    const res = await fetch(`${stack.url}${p}`, {
      method,
      headers: { authorization: `Bearer ${tenant!.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, serverTiming: res.headers.get('server-timing') };
  };
  return {
    url: stack.url,
    dataDir,
    workerInspectorPort: stack.workerInspectorPort,
    emulator,
    databaseUrl: stack.databaseUrl,
    runnerToken: stack.runnerToken,
    apiKey: tenant!.apiKey,
    tenantId: tenant!.tenantId,
    pool,
    api,
    phone: (method, p, body) => control(emulator.controlUrl, method, p, body),
  };
}

let runnerBundle: Promise<string> | undefined;

export interface BenchRunner extends RunnerProcess {
  pid: number;
  inspectorPort: number;
  rss(): number;
  /** Full GC in the runner through its inspector (HeapProfiler.collectGarbage), then its VmRSS. */
  gcRss(): Promise<number>;
  /** runner_sessions{state} from /metrics. */
  sessions(): Promise<Record<string, number>>;
}

/**
 * A runner process (scripts/lib/runner-process.ts) pointed at the emulator. It runs with --inspect on a
 * loopback port only so that the benchmark can force a GC before reading RSS, as it does for bare Baileys.
 */
export async function startBenchRunner(
  ctx: BenchContext,
  stack: BenchStack,
  opts: { runnerId: string; capacity: number; env?: Record<string, string> },
): Promise<BenchRunner> {
  const inspectorPort = await freePort();
  let lines = 0;
  const runner = await startRunner({
    // The bundle a container runs, not the sources through tsx: start-up and CPU as in production.
    bundle: await (runnerBundle ??= buildRunnerBundle()),
    controlPlaneUrl: stack.url,
    runnerToken: await stack.runnerToken(opts.runnerId),
    runnerId: opts.runnerId,
    capacity: opts.capacity,
    waWebSocketUrl: stack.emulator.url,
    waTrustRoot: stack.emulator.rootPublicKey,
    // Unpaced: a benchmark's bursts measure the pipeline, not SEND_PACE (docs/benchmarks.md).
    env: { NODE_OPTIONS: `--inspect=127.0.0.1:${inspectorPort}`, SEND_PACE: 'off', ...opts.env },
    log: (line) => {
      if (/Debugger (listening|attached|ending)|For help, see|"code":"515"/.test(line)) return;
      if (++lines <= 20) process.stderr.write(`[runner ${opts.runnerId}] ${line.slice(0, 400)}\n`);
      else if (lines === 21) process.stderr.write(`[runner ${opts.runnerId}] (further log lines suppressed)\n`);
    },
  });
  const pid = runner.child.pid!;
  trackChild(pid);
  ctx.defer(`runner ${opts.runnerId}`, () => runner.stop(2_000));
  return {
    ...runner,
    pid,
    inspectorPort,
    rss: () => rssBytes(pid),
    gcRss: async () => {
      await inspectorGc(inspectorPort);
      await sleep(200);
      await inspectorGc(inspectorPort);
      return rssBytes(pid);
    },
    sessions: async () => {
      const text = await (await fetch(`${runner.httpUrl}/metrics`)).text();
      const out: Record<string, number> = {};
      for (const m of text.matchAll(/^runner_sessions\{state="(\w+)"\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
      return out;
    },
  };
}

/** A DevTools protocol session with a process started with --inspect. */
async function inspector(port: number) {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let nextId = 1;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.on('message', (data) => {
    const reply = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (reply.id !== undefined) waiting.get(reply.id)?.(reply.result);
  });
  return {
    call: <T>(method: string, params: object = {}, timeoutMs = 30_000) =>
      new Promise<T>((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => reject(new Error(`inspector ${method} timed out`)), timeoutMs);
        waiting.set(id, (result) => (clearTimeout(timer), resolve(result as T)));
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

async function inspectorGc(port: number): Promise<void> {
  const session = await inspector(port);
  try {
    await session.call('HeapProfiler.collectGarbage');
  } finally {
    session.close();
  }
}

/**
 * Starts sampling the process's CPU; the returned function stops and writes a .cpuprofile (open it in
 * Chrome DevTools or speedscope) to `file`.
 */
export async function startCpuProfile(port: number, file: string): Promise<() => Promise<void>> {
  const session = await inspector(port);
  await session.call('Profiler.enable');
  await session.call('Profiler.setSamplingInterval', { interval: 500 });
  await session.call('Profiler.start');
  return async () => {
    try {
      const { profile } = await session.call<{ profile: unknown }>('Profiler.stop', {}, 120_000);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(profile));
    } finally {
      session.close();
    }
  };
}

/** connection_id → status for the bench tenant, read in one query. */
export async function statuses(stack: BenchStack, changedSince?: Date): Promise<Map<string, string>> {
  const { rows } = await stack.pool.query<{ connection_id: string; status: string }>(
    changedSince
      ? 'select connection_id, status from connections where tenant_id = $1 and status_changed_at >= $2'
      : 'select connection_id, status from connections where tenant_id = $1',
    changedSince ? [stack.tenantId, changedSince] : [stack.tenantId],
  );
  return new Map(rows.map((r) => [r.connection_id, r.status]));
}

/** Polls Postgres (one query for all) and resolves waiters once their connection reaches `connected`. */
class ConnectedWatcher {
  private waiters = new Map<string, { resolve: () => void; deadline: number; reject: (e: Error) => void }>();
  private timer: NodeJS.Timeout | undefined;
  constructor(private stack: BenchStack) {}
  wait(id: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.set(id, { resolve, reject, deadline: Date.now() + timeoutMs });
      this.timer ??= setTimeout(() => void this.poll(), 300);
    });
  }
  private async poll() {
    try {
      const now = await statuses(this.stack);
      for (const [id, w] of this.waiters) {
        if (now.get(id) === 'connected') w.resolve();
        else if (Date.now() > w.deadline) w.reject(new Error(`${id} not connected in time (status ${now.get(id)})`));
        else continue;
        this.waiters.delete(id);
      }
    } catch {
      // retried on the next tick
    }
    this.timer = this.waiters.size ? setTimeout(() => void this.poll(), 300) : undefined;
  }
}

export interface LinkOutcome {
  requested: number;
  linked: string[];
  failures: string[];
  ms: number;
}

/**
 * Links `count` new connections through the public API: create an emulator phone, POST /api/connections,
 * GET /api/get-qr (the runner's QR), the phone scans it, wait until the API says `connected`. At most
 * `concurrency` links are in flight; a link that fails is retried with a fresh QR twice. Stops starting
 * new links once `budgetMs` has passed (what was linked is reported).
 */
export async function linkConnections(
  ctx: BenchContext,
  stack: BenchStack,
  opts: { prefix: string; start: number; count: number; concurrency: number; budgetMs: number },
): Promise<LinkOutcome> {
  const watcher = new ConnectedWatcher(stack);
  const started = Date.now();
  const linked: string[] = [];
  const failures: string[] = [];
  let lastReport = started;
  const ids = Array.from({ length: opts.count }, (_, i) => `${opts.prefix}-${opts.start + i}`);
  await mapLimit(ids, opts.concurrency, async (id) => {
    if (Date.now() - started > opts.budgetMs) return void failures.push(`${id}: time budget spent before it started`);
    try {
      const { phone } = await stack.phone<{ phone: string }>('POST', '/accounts', { name: id });
      const created = await stack.api('POST', '/api/connections', { connection_id: id });
      if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
      for (let attempt = 1; ; attempt++) {
        try {
          const qr = await stack.api<{ qr_raw: string | null; status: string }>('GET', `/api/get-qr/${id}?wait=25`);
          if (qr.body.status === 'connected') break;
          if (!qr.body.qr_raw) throw new Error(`no QR within 25 s (status ${qr.body.status}, http ${qr.status})`);
          await stack.phone('POST', `/accounts/${phone}/scan`, { qr: qr.body.qr_raw });
          await watcher.wait(id, 60_000);
          break;
        } catch (e) {
          if (attempt >= 3) throw e;
        }
      }
      linked.push(id);
    } catch (e) {
      failures.push(`${id}: ${(e as Error).message}`);
    }
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      ctx.log(`  linking: ${linked.length}/${opts.count} connected, ${failures.length} failed`);
    }
  });
  return { requested: opts.count, linked, failures, ms: Date.now() - started };
}
