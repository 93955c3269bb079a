// The runner's own HTTP surface for the orchestrator and Prometheus: /healthz, /readyz, /metrics.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunnerMetrics } from './metrics.js';

export type HttpProbe = {
  /** Ready to take leases: linked to the control plane and not draining. */
  ready: () => boolean;
  metrics: RunnerMetrics;
};

export const startHttp = async (probe: HttpProbe, port: number, host = '0.0.0.0'): Promise<{ server: Server; port: number; close: () => Promise<void> }> => {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ok = probe.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ready\n' : 'not ready\n');
    } else if (path === '/metrics') {
      probe.metrics.registry.metrics().then(
        text => res.writeHead(200, { 'content-type': probe.metrics.registry.contentType }).end(text),
        err => res.writeHead(500).end(String(err)),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>(resolve => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
};
