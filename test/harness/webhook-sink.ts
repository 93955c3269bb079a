// A local webhook receiver for end-to-end tests: one HTTP server on the port the stack allows as a private
// target (webhookSinkPort); each test takes its own path and says how it answers.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  json: any;
  answered: number;
}

/** One HTTP server on the port the stack allows; each test gets its own path and says how it answers. */
export class Sink {
  readonly received: Received[] = [];
  private readonly behaviour = new Map<string, (n: number) => number>();
  private server?: http.Server;

  async start(port: number) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const seen = this.received.filter((r) => r.path === path).length;
        const status = (this.behaviour.get(path) ?? (() => 200))(seen + 1);
        const body = Buffer.concat(chunks).toString('utf8');
        this.received.push({ path, headers: req.headers as Record<string, string>, body, json: JSON.parse(body), answered: status });
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(status >= 300 ? `nope ${seen + 1}` : 'ok');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
  }

  /** A fresh endpoint; `answer(n)` is the status of its n-th request (default 200). */
  endpoint(answer?: (n: number) => number): { url: string; path: string } {
    const path = `/hooks/${randomUUID()}`;
    if (answer) this.behaviour.set(path, answer);
    return { url: `http://127.0.0.1:${inject('webhookSinkPort')}${path}`, path };
  }

  at(path: string) {
    return this.received.filter((r) => r.path === path);
  }

  stop() {
    this.server?.closeAllConnections();
    return new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

