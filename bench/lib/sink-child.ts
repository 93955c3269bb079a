// A webhook endpoint for the benchmarks, in a process of its own (as a tenant's server is another machine):
// answers 204 to every POST and records each delivery's `message` with when it arrived (Date.now()).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveIpc } from './ipc-child.js';

export type SinkRequest = { id: number } & ({ op: 'listen' } | { op: 'take' });

const arrivals: { text: string | null; event: string; at: number; webhookId: string }[] = [];
let server: http.Server | undefined;

serveIpc<SinkRequest>(async (req) => {
  if (req.op === 'take') return arrivals.splice(0);
  server = http.createServer((r, res) => {
    const chunks: Buffer[] = [];
    r.on('data', (c: Buffer) => chunks.push(c));
    r.on('end', () => {
      const at = Date.now();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event: string; message?: string | null };
      arrivals.push({ text: body.message ?? null, event: body.event, at, webhookId: String(r.headers['webhook-id']) });
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
});
