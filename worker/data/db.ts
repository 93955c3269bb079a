// Postgres access for the Worker: Neon's serverless driver (WebSocket) under drizzle. A pool lives for
// one request (Workers cannot keep sockets between requests) and is closed after the response.
import { Pool, neonConfig } from '@neondatabase/serverless';
import { drizzle, type NeonDatabase } from 'drizzle-orm/neon-serverless';
import * as schema from '../../drizzle/schema';

export type Db = NeonDatabase<typeof schema>;

export interface DbEnv {
  DATABASE_URL: string;
  NEON_WS_PROXY: string;
}

let configuredProxy: string | undefined;

function configureDriver(proxy: string) {
  if (configuredProxy === proxy) return;
  configuredProxy = proxy;
  if (proxy) {
    // Local Postgres behind scripts/lib/pg-ws-proxy.ts: plain ws, no TLS inside the tunnel.
    neonConfig.wsProxy = (host, port) => `${proxy}/v2?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
}

/** Opens a request-scoped database; `close` must be called (usually through waitUntil) when done. */
export function openDb(env: DbEnv): { db: Db; close: () => Promise<void> } {
  if (!env.DATABASE_URL) throw new Error('DATABASE_URL is not configured');
  configureDriver(env.NEON_WS_PROXY ?? '');
  const pool = new Pool({ connectionString: env.DATABASE_URL, max: 4 });
  let closing = false;
  // Emitted for idle connections that drop. Closing the pool makes workerd report its sockets as lost,
  // which is expected then; before that it is worth a warning (a query that fails throws to its caller).
  pool.on('error', (e: unknown) => {
    if (closing) return;
    console.warn(JSON.stringify({ level: 'warn', msg: 'idle postgres connection dropped', error: e instanceof Error ? e.message : (e as { message?: string })?.message ?? String(e) }));
  });
  return {
    db: drizzle(pool, { schema }),
    close: () => {
      closing = true;
      return pool.end();
    },
  };
}
