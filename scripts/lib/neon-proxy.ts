// A local stand-in for Neon's proxy in front of a plain Postgres, speaking both protocols Neon's serverless
// driver uses, so the Worker runs the same driver code locally as in production:
//   - WebSocket: ws://proxy/v2?address=host:port carrying raw Postgres wire bytes (sessions, interactive
//     transactions: the events consumer).
//   - HTTP: POST /sql with `{ query, params }` or `{ queries: [...] }` (a batch run as one transaction),
//     answering rows as raw text in array mode, as Neon's `neon()` / drizzle `neon-http` expect. One round
//     trip per query over pooled server connections: what keeps the request path fast.
// Only loopback targets are reached, so the proxy cannot be used to reach anything else.
import http from 'node:http';
import net from 'node:net';
import pg from 'pg';
import { WebSocketServer, type WebSocket } from 'ws';

export interface NeonProxy {
  /** host:port for NEON_WS_PROXY (the Worker derives both the ws:// and the http:// endpoint from it). */
  address: string;
  port: number;
  /** What it served so far: database sessions (WebSockets) and HTTP queries (tests tell the paths apart). */
  served(): { sessions: number; httpQueries: number };
  close(): Promise<void>;
}

const ALLOWED_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);
/** Server connections per database for the HTTP endpoint (Neon pools on its side too). */
const HTTP_POOL_SIZE = 10;
const MAX_SQL_BODY_BYTES = 64 * 1024 * 1024;

/** Postgres error fields Neon's HTTP endpoint returns beside `message` (the driver copies them onto its error). */
const ERROR_FIELDS = [
  'severity', 'code', 'detail', 'hint', 'position', 'internalPosition', 'internalQuery', 'where',
  'schema', 'table', 'column', 'dataType', 'constraint', 'file', 'line', 'routine',
] as const;

/** Every value as Postgres sent it (text): the driver parses by dataTypeID, as it does with Neon. */
const RAW_TEXT: pg.CustomTypesConfig = { getTypeParser: () => (value: string) => value } as pg.CustomTypesConfig;

const ISOLATION_LEVELS: Record<string, string> = {
  Serializable: 'SERIALIZABLE',
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
};

interface SqlQuery {
  query: string;
  params?: unknown[];
}

function allowedTarget(host: string, port: number): boolean {
  return ALLOWED_HOSTS.has(host.replace(/^\[|\]$/g, '')) && Number.isInteger(port) && port > 0;
}

function toNeonResult(result: pg.QueryResult<unknown[]>) {
  return {
    command: result.command,
    rowCount: result.rowCount,
    rows: result.rows,
    rowAsArray: true,
    fields: result.fields.map((f) => ({
      name: f.name,
      tableID: f.tableID,
      columnID: f.columnID,
      dataTypeID: f.dataTypeID,
      dataTypeSize: f.dataTypeSize,
      dataTypeModifier: f.dataTypeModifier,
      format: 'text',
    })),
  };
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_SQL_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function createSqlHandler() {
  const pools = new Map<string, pg.Pool>();
  const poolFor = (connectionString: string) => {
    let pool = pools.get(connectionString);
    if (!pool) {
      // The driver adds application_name (and sslmode where given) as URL parameters; pg reads them itself.
      pool = new pg.Pool({ connectionString, max: HTTP_POOL_SIZE, idleTimeoutMillis: 30_000 });
      pool.on('error', () => {}); // an idle server connection that drops is replaced on next use
      // A server that stops (57P01) while a client is checked out errors that client, not the pool: the
      // query in flight fails and answers the request; the event itself must not crash the process.
      pool.on('connect', (client) => client.on('error', () => {}));
      pools.set(connectionString, pool);
    }
    return pool;
  };
  const run = (client: pg.PoolClient, q: SqlQuery) =>
    client.query<unknown[]>({ text: q.query, values: q.params ?? [], rowMode: 'array', types: RAW_TEXT });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://proxy').pathname !== '/sql') {
      return reply(404, { message: 'POST /sql only' });
    }
    const connectionString = req.headers['neon-connection-string'];
    if (typeof connectionString !== 'string') return reply(400, { message: 'missing Neon-Connection-String header' });
    let target: URL;
    try {
      target = new URL(connectionString);
    } catch {
      return reply(400, { message: 'Neon-Connection-String is not a URL' });
    }
    if (!allowedTarget(target.hostname, Number(target.port || 5432))) return reply(400, { message: 'target not allowed' });

    let body: SqlQuery & { queries?: SqlQuery[] };
    try {
      body = JSON.parse(await readBody(req));
    } catch (e) {
      return reply(400, { message: `bad request body: ${(e as Error).message}` });
    }
    let client: pg.PoolClient;
    try {
      client = await poolFor(connectionString).connect();
    } catch (e) {
      return reply(500, { message: `could not connect to Postgres: ${(e as Error).message}` });
    }
    let inTransaction = false;
    let broken = false;
    try {
      if (Array.isArray(body.queries)) {
        const level = ISOLATION_LEVELS[String(req.headers['neon-batch-isolation-level'] ?? '')];
        const readOnly = req.headers['neon-batch-read-only'] === 'true';
        const deferrable = req.headers['neon-batch-deferrable'] === 'true';
        await client.query(
          ['BEGIN', level && `ISOLATION LEVEL ${level}`, readOnly && 'READ ONLY', deferrable && 'DEFERRABLE'].filter(Boolean).join(' '),
        );
        inTransaction = true;
        const results = [];
        for (const q of body.queries) results.push(toNeonResult(await run(client, q)));
        await client.query('COMMIT');
        inTransaction = false;
        return reply(200, { results });
      }
      return reply(200, toNeonResult(await run(client, body)));
    } catch (e) {
      if (inTransaction) await client.query('ROLLBACK').catch(() => (broken = true));
      const err = e as Record<string, unknown> & Error;
      if (typeof err.code !== 'string') broken = true;
      const fields = Object.fromEntries(ERROR_FIELDS.filter((f) => err[f] !== undefined).map((f) => [f, err[f]]));
      return reply(400, { message: err.message, ...fields });
    } finally {
      client.release(broken);
    }
  };
  return {
    handle: (req: http.IncomingMessage, res: http.ServerResponse) =>
      handle(req, res).catch((e) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: String(e) }));
      }),
    close: () => Promise.all([...pools.values()].map((p) => p.end().catch(() => {}))),
  };
}

function relayWebSocket(ws: WebSocket, req: http.IncomingMessage, sockets: Set<net.Socket>) {
  const target = new URL(req.url ?? '/', 'ws://proxy').searchParams.get('address') ?? '';
  const sep = target.lastIndexOf(':');
  const targetHost = target.slice(0, sep).replace(/^\[|\]$/g, '');
  const targetPort = Number(target.slice(sep + 1));
  if (!allowedTarget(targetHost, targetPort)) {
    ws.close(1008, 'target not allowed');
    return;
  }
  const tcp = net.connect({ host: targetHost, port: targetPort });
  tcp.setNoDelay(true);
  sockets.add(tcp);
  const pending: Buffer[] = [];
  let open = false;
  tcp.on('connect', () => {
    open = true;
    for (const chunk of pending.splice(0)) tcp.write(chunk);
  });
  tcp.on('data', (chunk) => {
    if (ws.readyState === ws.OPEN) ws.send(chunk);
  });
  const closeBoth = () => {
    sockets.delete(tcp);
    tcp.destroy();
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close();
  };
  tcp.on('close', closeBoth);
  tcp.on('error', closeBoth);
  ws.on('message', (data: Buffer) => {
    if (open) tcp.write(data);
    else pending.push(data);
  });
  ws.on('close', closeBoth);
  ws.on('error', closeBoth);
}

export async function startNeonProxy(port = 0, host = '127.0.0.1'): Promise<NeonProxy> {
  const sql = createSqlHandler();
  const server = http.createServer((req, res) => void sql.handle(req, res));
  server.keepAliveTimeout = 60_000;
  const wss = new WebSocketServer({ server });
  const sockets = new Set<net.Socket>();
  const served = { sessions: 0, httpQueries: 0 };
  wss.on('connection', (ws, req) => (served.sessions++, relayWebSocket(ws, req, sockets)));
  server.on('request', () => served.httpQueries++);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
    server.listen(port, host);
  });
  const actual = (server.address() as net.AddressInfo).port;
  return {
    address: `${host}:${actual}`,
    port: actual,
    served: () => ({ ...served }),
    close: async () => {
      for (const s of sockets) s.destroy();
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sql.close();
    },
  };
}
