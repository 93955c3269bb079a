// A WebSocket-to-TCP relay in front of Postgres, speaking the protocol Neon's serverless driver uses:
// the driver opens ws://proxy/v2?address=host:port and sends raw Postgres wire bytes over it. Neon runs
// this in production; locally (dev stack, tests) the Worker reaches a plain Postgres through this one.
// Only loopback targets are relayed, so the proxy cannot be used to reach anything else.
import net from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface PgWsProxy {
  /** host:port for NEON_WS_PROXY. */
  address: string;
  port: number;
  close(): Promise<void>;
}

const ALLOWED_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

export async function startPgWsProxy(port = 0, host = '127.0.0.1'): Promise<PgWsProxy> {
  const wss = new WebSocketServer({ host, port });
  const sockets = new Set<net.Socket>();
  wss.on('connection', (ws: WebSocket, req) => {
    const target = new URL(req.url ?? '/', 'ws://proxy').searchParams.get('address') ?? '';
    const sep = target.lastIndexOf(':');
    const targetHost = target.slice(0, sep).replace(/^\[|\]$/g, '');
    const targetPort = Number(target.slice(sep + 1));
    if (!ALLOWED_HOSTS.has(targetHost) || !Number.isInteger(targetPort) || targetPort <= 0) {
      ws.close(1008, 'target not allowed');
      return;
    }
    const tcp = net.connect({ host: targetHost, port: targetPort });
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
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const actual = (wss.address() as net.AddressInfo).port;
  return {
    address: `${host}:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}
