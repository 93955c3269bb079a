// Postgres access for the Worker, through Neon's serverless driver under drizzle, in its two modes:
//   - `httpDb`: one HTTPS round trip per query (or per batch, run as one transaction) over connections
//     Neon pools on its side. No socket to open per request, so it is the request path's default: a
//     WebSocket session costs a connection setup (and a server backend) on every request, because Workers
//     cannot keep sockets between requests.
//   - `openSessionDb`: a WebSocket session, for interactive transactions (the events consumer, for a batch
//     with lifecycle events to fold). It lives for one invocation and must be closed.
import { Pool, neon, neonConfig } from '@neondatabase/serverless';
import { drizzle as drizzleHttp, type NeonHttpDatabase } from 'drizzle-orm/neon-http';
import { drizzle as drizzleWs, type NeonDatabase } from 'drizzle-orm/neon-serverless';
import * as schema from '../../drizzle/schema';
import type { EventsStore, Row } from './events';

export type Db = NeonHttpDatabase<typeof schema>;
export type SessionDb = NeonDatabase<typeof schema>;

export interface DbEnv {
  DATABASE_URL: string;
  /** host:port of the local Neon stand-in (scripts/lib/neon-proxy.ts); empty with Neon itself. */
  NEON_WS_PROXY: string;
}

let configuredProxy: string | undefined;

function configureDriver(proxy: string) {
  if (configuredProxy === proxy) return;
  configuredProxy = proxy;
  if (proxy) {
    // Local Postgres behind the stand-in: plain ws and http, no TLS inside the tunnel.
    neonConfig.wsProxy = (host, port) => `${proxy}/v2?address=${host}:${port}`;
    neonConfig.fetchEndpoint = () => `http://${proxy}/sql`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
}

function databaseUrl(env: DbEnv): string {
  if (!env.DATABASE_URL) throw new Error('DATABASE_URL is not configured');
  configureDriver(env.NEON_WS_PROXY ?? '');
  return env.DATABASE_URL;
}

// Holds no socket (every query is its own fetch), so one instance per isolate serves every request.
let cached: { url: string; db: Db } | undefined;

export function httpDb(env: DbEnv): Db {
  const url = databaseUrl(env);
  if (cached?.url !== url) cached = { url, db: drizzleHttp(neon(url), { schema }) };
  return cached.db;
}

/** Opens a WebSocket session for interactive transactions; `close` must be called (usually through waitUntil). */
export function openSessionDb(env: DbEnv): { db: SessionDb; close: () => Promise<void> } {
  const pool = new Pool({ connectionString: databaseUrl(env), max: 4 });
  let closing = false;
  // Emitted for idle connections that drop. Closing the pool makes workerd report its sockets as lost,
  // which is expected then; before that it is worth a warning (a query that fails throws to its caller).
  pool.on('error', (e: unknown) => {
    if (closing) return;
    console.warn(JSON.stringify({ level: 'warn', msg: 'idle postgres connection dropped', error: e instanceof Error ? e.message : (e as { message?: string })?.message ?? String(e) }));
  });
  return {
    db: drizzleWs(pool, { schema }),
    close: () => {
      closing = true;
      return pool.end();
    },
  };
}

/**
 * Where the events consumer stores batches: statement batches over the HTTP driver (one transaction in
 * one round trip, no session), and a WebSocket session only for a batch that needs an interactive
 * transaction, opened for it and closed after (through `defer`, e.g. waitUntil, when given).
 */
export function eventsStore(env: DbEnv, defer: (closing: Promise<unknown>) => void = () => {}): EventsStore {
  return {
    batch: async (statements) => {
      const db = httpDb(env);
      const [first, ...rest] = statements.map((s) => db.execute(s));
      if (!first) return [];
      const results = (await db.batch([first, ...rest])) as unknown as { rows: Row[] }[];
      return results.map((r) => r.rows);
    },
    interactive: async (work) => {
      const session = openSessionDb(env);
      try {
        return await session.db.transaction(work);
      } finally {
        defer(session.close().catch(() => {}));
      }
    },
  };
}
