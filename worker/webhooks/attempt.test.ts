// One delivery attempt against real HTTP servers on loopback: how each answer is classified, what is sent.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWebhookSecret } from '../auth/credentials';
import { parsePrivateTargetPolicy } from '../lib/webhook-url';
import { attemptDelivery, USER_AGENT } from './attempt';

let server: http.Server;
let base = '';
const seen: { path: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ path: req.url!, headers: req.headers, body });
      if (req.url === '/ok') return res.writeHead(204).end();
      if (req.url === '/gone') return res.writeHead(410).end('unsubscribed');
      if (req.url === '/redirect') return res.writeHead(302, { location: 'http://169.254.169.254/' }).end();
      if (req.url === '/big') return res.writeHead(500).end('é'.repeat(2000)); // 4000 bytes of UTF-8
      if (req.url === '/slow') return setTimeout(() => res.writeHead(200).end(), 2000);
      res.writeHead(503).end('busy');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const request = (path: string, extra: Partial<Parameters<typeof attemptDelivery>[0]> = {}) =>
  attemptDelivery({
    url: `${base}${path}`,
    webhookId: 'msg_test',
    body: '{"event":"test"}',
    secrets: [newWebhookSecret()],
    timeoutMs: 1000,
    policy: parsePrivateTargetPolicy(base.replace('http://', '')),
    ...extra,
  });

describe('a webhook attempt', () => {
  it('POSTs the body with the signature headers and our User-Agent; a 2xx is delivered', async () => {
    const out = await request('/ok');
    expect(out).toMatchObject({ kind: 'delivered', statusCode: 204, error: null });
    const got = seen.find((s) => s.path === '/ok')!;
    expect(got.body).toBe('{"event":"test"}');
    expect(got.headers).toMatchObject({ 'user-agent': USER_AGENT, 'content-type': 'application/json', 'webhook-id': 'msg_test' });
    expect(got.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(Number(got.headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -1);
  });

  it('410 means gone: no retries', async () => {
    expect(await request('/gone')).toMatchObject({ kind: 'gone', statusCode: 410, responseExcerpt: 'unsubscribed' });
  });

  it('does not follow a redirect (it could lead anywhere), and retries later', async () => {
    const out = await request('/redirect');
    expect(out).toMatchObject({ kind: 'failed', statusCode: 302 });
    expect(out.error).toMatch(/redirect .* not followed/);
  });

  it('keeps only the first KiB of an answer, cut on a byte boundary', async () => {
    const out = await request('/big');
    expect(out.kind).toBe('failed');
    expect(new TextEncoder().encode(out.responseExcerpt!).length).toBeLessThanOrEqual(1024 + 2);
    expect(out.responseExcerpt!.startsWith('éé')).toBe(true);
  });

  it('gives up on an endpoint that does not answer in time', async () => {
    const out = await request('/slow', { timeoutMs: 300 });
    expect(out).toMatchObject({ kind: 'failed', statusCode: null });
    expect(out.error).toMatch(/no answer within 300 ms/);
    expect(out.durationMs).toBeLessThan(1500);
  });

  it('refuses, without any request, a URL the policy does not allow', async () => {
    const before = seen.length;
    const out = await request('/ok', { policy: parsePrivateTargetPolicy('') });
    expect(out.kind).toBe('refused');
    expect(out.error).toMatch(/^URL refused: 127\.0\.0\.1 is not a public address \(127\.0\.0\.0\/8, loopback\)$/);
    expect(seen.length).toBe(before);
  });

  it('a network error is a failure to retry', async () => {
    const out = await attemptDelivery({
      url: 'http://127.0.0.1:1/',
      webhookId: 'msg_x',
      body: '{}',
      secrets: [newWebhookSecret()],
      timeoutMs: 1000,
      policy: parsePrivateTargetPolicy('true'),
    });
    expect(out).toMatchObject({ kind: 'failed', statusCode: null });
    expect(out.error).toMatch(/request failed/);
  });
});
