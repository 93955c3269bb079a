// Brings up the control plane locally: Postgres (embedded unless a URL is given), migrations, the
// WebSocket proxy the Neon driver needs, and the Worker in workerd. Shared by `npm run dev` and tests.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startEmulator } from '../../runner/emulator/index';
import { startRunner } from './runner-process';
import { buildDashboard, watchDashboard } from './dashboard';
import { startCronTicker } from './cron-ticker';
import { applyMigrations } from './database';
import { startEmbeddedPostgres } from './embedded-postgres';
import { startNeonProxy } from './neon-proxy';
import { runnerTokens } from './runner-credentials';
import { freePort } from './ports';
import { startWorker, type WorkerProcess } from './worker-process';

export interface Stack {
  url: string;
  /** DevTools protocol port of the Worker (see WorkerProcess). */
  workerInspectorPort: number;
  databaseUrl: string;
  /** The Worker's secret vars by name (tokens, secrets, keys). */
  secrets: Record<string, string>;
  /**
   * The credential for a runner id (issued in this stack's database on first use, then kept): each runner
   * has its own, there is no shared runner token. Runners this stack starts get theirs already.
   */
  runnerToken(runnerId: string): Promise<string>;
  /** With `prebuilt` only: an R2 bucket of the Worker by binding name (tests inspect what is stored). */
  r2Bucket?: WorkerProcess['r2Bucket'];
  /** Set when the stack runs its own WhatsApp Web emulator (sandbox). */
  emulator?: { url: string; controlUrl: string; rootPublicKey: string; mediaCaFile: string };
  stop(): Promise<void>;
}

/** Vars whose values are credentials or keys. */
const SECRET_NAME = /TOKEN|SECRET|_KEYS?$/;

export interface StackOptions {
  dataDir: string;
  port: number;
  /** Use this Postgres database instead of the embedded one. */
  databaseUrl?: string;
  embeddedPostgresPort?: number;
  /** Extra Worker vars (e.g. ALLOW_PRIVATE_WEBHOOK_TARGETS, ALLOW_PRIVATE_MEDIA_SOURCES). */
  vars?: Record<string, string>;
  log?: (line: string) => void;
  /** Called after migrations, before the Worker starts (e.g. to create the first tenant). */
  beforeWorker?: (databaseUrl: string) => Promise<void>;
  /** How many runner processes to start (0: none; tests start their own). */
  runners?: number;
  /** Serve one prebuilt bundle instead of watching the sources (tests, benchmarks). */
  prebuilt?: boolean;
  /** Run a WhatsApp Web emulator, point the runners at it instead of WhatsApp, and give the Worker its control URL. */
  sandbox?: { port: number; dataFile?: string };
  /**
   * The dashboard the Worker serves: `build` it once (default), `watch` its sources and rebuild on change
   * (`npm run dev`), or build it only `if-missing` (benchmarks and tests that never open it).
   */
  dashboard?: 'build' | 'watch' | 'if-missing';
  /** How often the local cron ticker runs the Worker's scheduled handler (default: every minute, as the cron says). */
  cronIntervalMs?: number;
}

/** A random secret kept in `file` (made on first use), so that restarts on the same data keep it. */
async function keptSecret(file: string): Promise<string> {
  const kept = await readFile(file, 'utf8').catch(() => '');
  if (kept.trim()) return kept.trim();
  const secret = randomBytes(32).toString('base64url');
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, secret, { mode: 0o600 });
  return secret;
}

/**
 * A keyring of one random AES-256 key (`local:<base64>`, AUTH_STATE_KEYS' form) kept in `file`: the dev and
 * test stacks always seal auth state and webhook secrets, exactly as production must.
 */
async function keptKeyring(file: string): Promise<string> {
  const kept = await readFile(file, 'utf8').catch(() => '');
  if (kept.trim()) return kept.trim();
  const spec = `local:${randomBytes(32).toString('base64')}`;
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, spec, { mode: 0o600 });
  return spec;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e) => log(`stop failed: ${e}`));
  };
  try {
    let databaseUrl = opts.databaseUrl;
    if (!databaseUrl) {
      const port = opts.embeddedPostgresPort ?? (await freePort());
      const pg = await startEmbeddedPostgres(path.join(opts.dataDir, 'postgres'), port, { log });
      stops.push(pg.stop);
      log(`embedded PostgreSQL on 127.0.0.1:${port} (data in ${pg.dataDir})`);
      databaseUrl = pg.url;
    }
    await applyMigrations(databaseUrl);
    await opts.beforeWorker?.(databaseUrl);

    if (opts.dashboard === 'watch') {
      const watcher = await watchDashboard((l) => log(`[dashboard] ${l}`));
      stops.push(watcher.close);
    } else {
      await buildDashboard({ onlyIfMissing: opts.dashboard === 'if-missing' });
    }
    const proxy = await startNeonProxy();
    stops.push(proxy.close);

    // The emulator comes first: the Worker is told where its control API is (/api/sandbox).
    let emulator: Stack['emulator'];
    if (opts.sandbox) {
      const mediaCaFile = path.join(opts.dataDir, 'emulator-media-ca.pem');
      const emu = await startEmulator({ port: opts.sandbox.port, dataFile: opts.sandbox.dataFile, mediaCaFile });
      stops.push(() => emu.close());
      emulator = { url: emu.url, controlUrl: emu.controlUrl, rootPublicKey: emu.rootPublicKey, mediaCaFile };
      log(`sandbox: WhatsApp Web emulator on ${emu.url} (control API ${emu.controlUrl})`);
    }

    // One credential per runner, as in production (a revoked or replaced one stops working within seconds);
    // named `local stack`, so that each start replaces the previous start's instead of piling them up.
    const runnerToken = runnerTokens(databaseUrl, 'local stack');
    const vars: Record<string, string> = {
      DATABASE_URL: databaseUrl,
      NEON_WS_PROXY: proxy.address,
      MESSAGE_ID_SECRET: await keptSecret(path.join(opts.dataDir, 'message-id-secret')),
      AUTH_STATE_KEYS: await keptKeyring(path.join(opts.dataDir, 'auth-state-keys')),
      WEBHOOK_SECRET_KEYS: await keptKeyring(path.join(opts.dataDir, 'webhook-secret-keys')),
      MEDIA_LINK_KEY: await keptSecret(path.join(opts.dataDir, 'media-link-key')),
      // The URL the runners dial (below): media links handed to them start with it.
      CONTROL_PLANE_URL: `http://127.0.0.1:${opts.port}`,
      ...(emulator ? { SANDBOX_CONTROL_URL: emulator.controlUrl } : {}),
      ...opts.vars,
    };
    const worker = await startWorker({
      port: opts.port,
      persistTo: path.join(opts.dataDir, 'wrangler'),
      vars,
      prebuilt: opts.prebuilt,
      log: opts.log ? (l) => opts.log!(`[worker] ${l}`) : undefined,
    });
    stops.push(worker.stop);
    const ticker = startCronTicker(worker.url, opts.cronIntervalMs ?? 60_000, (l) => log(`[cron] ${l}`));
    stops.push(async () => ticker.stop());

    for (let i = 0; i < (opts.runners ?? 0); i++) {
      const runner = await startRunner({
        controlPlaneUrl: worker.url,
        runnerToken: await runnerToken(`local-${i + 1}`),
        runnerId: `local-${i + 1}`,
        waWebSocketUrl: emulator?.url ?? process.env.WA_WEBSOCKET_URL,
        waTrustRoot: emulator?.rootPublicKey ?? process.env.WA_TRUST_ROOT,
        waMediaCa: emulator?.mediaCaFile ?? process.env.WA_MEDIA_CA,
        // Each runner's outbox journal next to the rest of the local data, so a crashed runner loses nothing.
        env: { OUTBOX_DIR: path.join(opts.dataDir, 'outbox', `local-${i + 1}`) },
        log: (line) => log(`[runner ${i + 1}] ${line}`),
      });
      stops.push(async () => void (await runner.stop(30_000)));
    }
    // What must never show in a log (the test run's secret scan looks for each).
    const secrets = Object.fromEntries(Object.entries(vars).filter(([name]) => SECRET_NAME.test(name)));
    return { url: worker.url, workerInspectorPort: worker.inspectorPort, r2Bucket: worker.r2Bucket, databaseUrl, runnerToken, secrets, emulator, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
