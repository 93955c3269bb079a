// The real stack for one fault scenario, with handles to break it: its own embedded PostgreSQL (so it can
// be stopped and started again), the Worker in workerd (restartable on the same port and local state), the
// WhatsApp Web emulator, runner processes, and a webhook sink. Everything is reached as a user would: the
// REST API, the emulator's control API (the phone and its contacts), webhooks. Nothing here is shared with
// the e2e project's stack, so a scenario may stop whatever it likes.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../../runner/emulator/index';
import { control } from '../../runner/emulator/testing';
import { startCronTicker } from '../../scripts/lib/cron-ticker';
import { buildDashboard } from '../../scripts/lib/dashboard';
import { applyMigrations, openDb } from '../../scripts/lib/database';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../scripts/lib/embedded-postgres';
import { startNeonProxy } from '../../scripts/lib/neon-proxy';
import { freePort } from '../../scripts/lib/ports';
import { startRunner, type RunnerProcess } from '../../scripts/lib/runner-process';
import { runnerTokens } from '../../scripts/lib/runner-credentials';
import { createTenant } from '../../scripts/lib/tenants';
import { startWorker, type WorkerProcess } from '../../scripts/lib/worker-process';
import { TEST_LIMIT_VARS, TEST_RUNNER_ENV, TEST_SCHEDULER_VARS, TEST_WEBHOOK_VARS } from '../harness/global-setup';

export type ApiAnswer<T = any> = { status: number; body: T; headers: Headers };

/** What a webhook endpoint was sent: message.received deliveries by provider message id. */
export class WebhookSink {
  readonly bodies: any[] = [];
  private server?: http.Server;
  port = 0;
  /** While true the sink is "down": every delivery is answered 503 (and counted in `refused`). */
  down = false;
  refused = 0;

  async start(port: number) {
    this.port = port;
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.down) return void (this.refused++, res.writeHead(503).end('down'));
        try {
          this.bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          /* not JSON: not ours */
        }
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
  }

  /** provider_message_id → how many message.received deliveries carried it. */
  received(): Map<string, number> {
    const seen = new Map<string, number>();
    for (const b of this.bodies) if (b.event === 'message.received') seen.set(b.provider_message_id, (seen.get(b.provider_message_id) ?? 0) + 1);
    return seen;
  }

  async stop() {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

export interface FaultStack {
  url: string;
  emulator: RunningEmulator;
  sink: WebhookSink;
  runners: RunnerProcess[];
  api<T = any>(method: string, p: string, body?: unknown): Promise<ApiAnswer<T>>;
  phone<T = any>(method: string, p: string, body?: unknown): Promise<T>;
  launchRunner(id: string): Promise<RunnerProcess>;
  /** Stops the Worker (workerd) and starts it again on the same port and local state. */
  restartWorker(): Promise<void>;
  stopPostgres(): Promise<void>;
  startPostgres(): Promise<void>;
  stop(): Promise<void>;
}

export async function startFaultStack(opts: { runners: number; runnerEnv?: Record<string, string>; log?: (line: string) => void }): Promise<FaultStack> {
  const log = opts.log ?? ((line: string) => (process.env.E2E_VERBOSE ? process.stderr.write(`${line}\n`) : undefined));
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e) => process.stderr.write(`fault stack teardown: ${e}\n`));
  };
  try {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchboard-faults-'));
    await chmod(dataDir, 0o755); // embedded Postgres runs as the postgres user when we are root
    stops.push(() => rm(dataDir, { recursive: true, force: true }));
    const pgPort = await freePort();
    let pg: EmbeddedPostgresHandle | undefined = await startEmbeddedPostgres(path.join(dataDir, 'postgres'), pgPort, { log });
    stops.push(async () => void (await pg?.stop()));
    const databaseUrl = pg.url;
    await applyMigrations(databaseUrl);
    const db = openDb(databaseUrl);
    const tenant = await createTenant(db, { name: 'faults', email: `faults-${Date.now()}@example.test` });
    await db.$client.end();

    const emulator = await startEmulator({ port: 0 });
    stops.push(() => emulator.close());
    const sink = new WebhookSink();
    await sink.start(await freePort());
    stops.push(() => sink.stop());
    const proxy = await startNeonProxy();
    stops.push(proxy.close);
    // The Worker serves the dashboard's assets: `npm run test:faults` on a fresh clone has none built yet.
    await buildDashboard({ onlyIfMissing: true });

    // Each runner its own credential, issued on its first start and kept for its restarts.
    const runnerToken = runnerTokens(databaseUrl, 'faults');
    const workerPort = await freePort();
    const workerOpts = {
      port: workerPort,
      persistTo: path.join(dataDir, 'wrangler'),
      prebuilt: true,
      log: (l: string) => log(`[worker] ${l}`),
      vars: {
        DATABASE_URL: databaseUrl,
        NEON_WS_PROXY: proxy.address,
        MESSAGE_ID_SECRET: randomBytes(32).toString('base64url'),
        AUTH_STATE_KEYS: `faults:${randomBytes(32).toString('base64')}`,
        WEBHOOK_SECRET_KEYS: `faults:${randomBytes(32).toString('base64')}`,
        ALLOW_PRIVATE_WEBHOOK_TARGETS: `127.0.0.1:${sink.port}`,
        CONTROL_PLANE_URL: `http://127.0.0.1:${workerPort}`,
        ...TEST_SCHEDULER_VARS,
        ...TEST_WEBHOOK_VARS,
        ...TEST_LIMIT_VARS,
      },
    };
    let worker: WorkerProcess | undefined = await startWorker(workerOpts);
    stops.push(async () => void (await worker?.stop()));
    const ticker = startCronTicker(worker.url, 1000, (l) => log(`[cron] ${l}`));
    stops.push(async () => ticker.stop());

    const runners: RunnerProcess[] = [];
    stops.push(async () => void (await Promise.all(runners.map((r) => (r.child.exitCode === null && r.child.signalCode === null ? r.stop(5_000) : undefined)))));
    const launchRunner = async (id: string) => {
      const runner = await startRunner({
        controlPlaneUrl: worker!.url,
        runnerToken: await runnerToken(id),
        runnerId: id,
        waWebSocketUrl: emulator.url,
        waTrustRoot: emulator.rootPublicKey,
        env: { ...TEST_RUNNER_ENV, ...opts.runnerEnv },
        log: (l) => log(`[${id}] ${l}`),
      });
      runners.push(runner);
      return runner;
    };
    for (let i = 1; i <= opts.runners; i++) await launchRunner(`fault-runner-${i}`);

    const url = worker.url;
    const api = async <T>(method: string, p: string, body?: unknown): Promise<ApiAnswer<T>> => {
      const res = await fetch(`${url}${p}`, {
        method,
        headers: { authorization: `Bearer ${tenant.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
    };
    return {
      url,
      emulator,
      sink,
      runners,
      api,
      phone: (method, p, body) => control(emulator.controlUrl, method, p, body),
      launchRunner,
      restartWorker: async () => {
        await worker!.stop();
        worker = undefined;
        worker = await startWorker(workerOpts);
      },
      stopPostgres: async () => {
        await pg!.stop();
        pg = undefined;
      },
      startPostgres: async () => {
        pg = await startEmbeddedPostgres(path.join(dataDir, 'postgres'), pgPort, { log });
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
