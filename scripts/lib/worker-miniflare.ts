// Runs a prebuilt Worker bundle in workerd through Miniflare directly, for tests and benchmarks. The
// bindings (Durable Objects, queues and their consumers, R2, static assets) come from wrangler.toml through
// wrangler's own translation (`unstable_getMiniflareWorkerOptions`), so this is the runtime `wrangler dev`
// runs, minus its dev proxy: `wrangler dev` puts a second workerd in front of the Worker that relays every
// request and every WebSocket frame through a Durable Object, which on a small box costs milliseconds per
// hop and CPU the measured system needs. `npm run dev` keeps `wrangler dev` (live reload).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { freePort } from './ports';

export interface MiniflareWorker {
  url: string;
  inspectorPort: number;
  /** An R2 bucket of the Worker by its binding name, read and written from Node (tests inspect stored objects). */
  r2Bucket(binding: string): ReturnType<Miniflare['getR2Bucket']>;
  stop(): Promise<void>;
}

export interface MiniflareWorkerOptions {
  /** The Worker bundled as `wrangler deploy --dry-run` does (index.js in `bundleDir`). */
  bundleDir: string;
  configPath: string;
  port: number;
  /** Where Durable Objects, queues and R2 keep their state (same directory → same state after a restart). */
  persistTo: string;
  vars: Record<string, string>;
  log: (line: string) => void;
}

export async function startMiniflareWorker(opts: MiniflareWorkerOptions): Promise<MiniflareWorker> {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(opts.configPath);
  const inspectorPort = await freePort();
  const { modulesRules: _bundled, ...worker } = workerOptions as typeof workerOptions & { modulesRules?: unknown };
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: '127.0.0.1',
      port: opts.port,
      inspectorPort,
      unsafeInspectDurableObjects: true,
      // The scheduled handler (cron) is reachable at /cdn-cgi/local/scheduled, for the local cron ticker.
      unsafeTriggerHandlers: true,
      resourcePersistencePath: opts.persistTo,
      rootPath: path.dirname(opts.configPath),
      handleStructuredLogs: ({ level, message }: { level: string; message: string }) => {
        for (const line of message.split('\n')) if (line) opts.log(level === 'error' || level === 'warn' ? `✘ ${line}` : line);
      },
      workers: [
        {
          ...worker,
          name: 'switchboard',
          modules: true,
          modulesRoot: opts.bundleDir,
          scriptPath: path.join(opts.bundleDir, 'index.js'),
          bindings: { ...(worker as { bindings?: Record<string, unknown> }).bindings, ...opts.vars },
        },
      ],
    } as Parameters<typeof convertV4MiniflareOptions>[0]),
  );
  const url = (await mf.ready).origin;
  // Miniflare does not stop workerd if this process exits without disposing it (a crash, or a library
  // calling process.exit first): kill the workerd children it started, as killGroupOnExit does for wrangler.
  const workerd = childPids(process.pid).filter((pid) => /workerd/.test(cmdline(pid)));
  const killWorkerd = () => {
    for (const pid of workerd) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', killWorkerd);
  return {
    url,
    inspectorPort,
    r2Bucket: (binding) => mf.getR2Bucket(binding),
    stop: async () => {
      process.off('exit', killWorkerd);
      await mf.dispose();
    },
  };
}

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
};

/** Direct children of a process, from /proc (Linux; elsewhere none are found and nothing is killed). */
function childPids(parent: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const e of entries) {
    const pid = Number(e);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) out.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
