// Brings up the control plane locally: Postgres (embedded unless a URL is given), migrations, the
// WebSocket proxy the Neon driver needs, and the Worker in workerd. Shared by `npm run dev` and tests.
import path from 'node:path';
import { ensureDashboardAssets } from './dashboard';
import { applyMigrations } from './database';
import { startEmbeddedPostgres } from './embedded-postgres';
import { startPgWsProxy } from './pg-ws-proxy';
import { freePort } from './ports';
import { startWorker } from './worker-process';

export interface Stack {
  url: string;
  databaseUrl: string;
  stop(): Promise<void>;
}

export interface StackOptions {
  dataDir: string;
  port: number;
  /** Use this Postgres database instead of the embedded one. */
  databaseUrl?: string;
  embeddedPostgresPort?: number;
  /** Extra Worker vars (e.g. ALLOW_PRIVATE_WEBHOOK_TARGETS). */
  vars?: Record<string, string>;
  log?: (line: string) => void;
  /** Called after migrations, before the Worker starts (e.g. to create the first tenant). */
  beforeWorker?: (databaseUrl: string) => Promise<void>;
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
      log(`starting embedded PostgreSQL on 127.0.0.1:${port} (data in ${path.join(opts.dataDir, 'postgres')})`);
      const pg = await startEmbeddedPostgres(path.join(opts.dataDir, 'postgres'), port);
      stops.push(pg.stop);
      databaseUrl = pg.url;
    }
    await applyMigrations(databaseUrl);
    await opts.beforeWorker?.(databaseUrl);

    await ensureDashboardAssets();
    const proxy = await startPgWsProxy();
    stops.push(proxy.close);

    const worker = await startWorker({
      port: opts.port,
      persistTo: path.join(opts.dataDir, 'wrangler'),
      vars: { DATABASE_URL: databaseUrl, NEON_WS_PROXY: proxy.address, ...opts.vars },
      log: opts.log ? (l) => opts.log!(`[worker] ${l}`) : undefined,
    });
    stops.push(worker.stop);
    return { url: worker.url, databaseUrl, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
