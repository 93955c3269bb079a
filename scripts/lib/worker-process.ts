// Runs the Worker locally in workerd: `wrangler dev` for development (live reload; Durable Objects, Queues
// and R2 simulated by workerd, state kept in `persistTo`, in its own process group so that stopping it also
// stops the workerd and esbuild children wrangler spawns), or a prebuilt bundle through Miniflare directly.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { forEachLine } from './lines';
import { killGroupOnExit, signalGroup } from './process-group';
import { freePort } from './ports';
import { startMiniflareWorker, type MiniflareWorker } from './worker-miniflare';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Harmless offline chatter: wrangler fetching the `Request.cf` object from Cloudflare. */
const NOISE = /Request\.cf|cf object|workers\.cloudflare\.com|GetAddrInfoReqWrap/i;

export interface WorkerProcess {
  url: string;
  /** DevTools protocol port of the Worker's isolate (profiling, debugging). */
  inspectorPort: number;
  /** With `prebuilt` only: an R2 bucket of the Worker by binding name (tests inspect what is stored). */
  r2Bucket?: MiniflareWorker['r2Bucket'];
  stop(): Promise<void>;
}

export interface WorkerOptions {
  port: number;
  persistTo: string;
  vars: Record<string, string>;
  /**
   * Bundle the Worker once and run that bundle in workerd through Miniflare directly (worker-miniflare.ts)
   * instead of `wrangler dev` watching the sources: tests and benchmarks then run exactly one build,
   * unaffected by edits made while they run, without wrangler's esbuild watcher (seen to die under load
   * with "all goroutines are asleep") and without its dev proxy in front of every request.
   */
  prebuilt?: boolean;
  /** Where wrangler's output goes; defaults to this process's stdio. */
  log?: (line: string) => void;
  readyTimeoutMs?: number;
}

const WRANGLER = path.join(ROOT, 'node_modules/wrangler/bin/wrangler.js');

/** Bundles the Worker as `wrangler deploy` would, without deploying. */
function bundleWorker(outdir: string): void {
  const result = spawnSync(process.execPath, [WRANGLER, 'deploy', '--dry-run', '--outdir', outdir, '--config', path.join(ROOT, 'wrangler.toml')], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`bundling the Worker failed:\n${result.stdout}\n${result.stderr}`);
}

export async function startWorker(opts: WorkerOptions): Promise<WorkerProcess> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`[worker] ${line}\n`));
  if (opts.prebuilt) {
    const bundleDir = path.join(opts.persistTo, 'bundle');
    bundleWorker(bundleDir);
    return startMiniflareWorker({
      bundleDir,
      configPath: path.join(ROOT, 'wrangler.toml'),
      port: opts.port,
      persistTo: path.join(opts.persistTo, 'state'),
      vars: opts.vars,
      log: (line) => {
        if (!NOISE.test(line)) log(line);
      },
    });
  }
  const inspectorPort = await freePort();
  const args = [
    WRANGLER,
    'dev',
    '--config',
    path.join(ROOT, 'wrangler.toml'),
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--inspector-port',
    String(inspectorPort),
    '--persist-to',
    opts.persistTo,
    '--show-interactive-dev-session=false',
    // Serves /cdn-cgi/local/scheduled, through which the local cron ticker runs the scheduled handler.
    '--test-scheduled',
    '--log-level',
    'warn',
  ];
  for (const [k, v] of Object.entries(opts.vars)) args.push('--var', `${k}:${v}`);

  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: 'false',
      WRANGLER_LOG_PATH: path.join(opts.persistTo, 'logs'),
      CI: process.env.CI ?? '',
    },
  });
  forEachLine([child.stdout, child.stderr], (line) => {
    if (!NOISE.test(line)) log(line);
  });

  const url = `http://127.0.0.1:${opts.port}`;
  let exited = false;
  killGroupOnExit(child);
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const stop = async () => {
    if (exited || !signalGroup(child, 'SIGTERM')) return;
    const stopped = await Promise.race([exit.then(() => true), sleep(5000).then(() => false)]);
    if (!stopped) {
      signalGroup(child, 'SIGKILL');
      await exit;
    }
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
  while (Date.now() < deadline) {
    if (exited) throw new Error('wrangler dev exited before it was ready (see the [worker] lines above)');
    try {
      const res = await fetch(`${url}/api/openapi.json`, { signal: AbortSignal.timeout(5000) });
      if (res.ok) return { url, inspectorPort, stop };
    } catch {
      // not listening yet
    }
    await sleep(300);
  }
  await stop();
  throw new Error(`wrangler dev did not answer on ${url} within the timeout`);
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
