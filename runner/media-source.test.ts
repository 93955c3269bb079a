// The runner's own download of a media send's file: the token reaches the control plane and no one
// else, the size and time bounds hold, and every failure has its code.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadMedia, isControlPlaneUrl, MediaSourceError } from './media-source.js';

type Seen = { url: string; headers: IncomingHttpHeaders };
const TOKEN = 'runner-secret';
const FILE = Buffer.from('%PDF-1.4 a small file');

/** A host that records what it was asked and answers per path. */
const host = async (routes: Record<string, (res: import('node:http').ServerResponse, base: string) => void>) => {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ url: req.url!, headers: req.headers });
    const route = routes[req.url!.split('?')[0]!];
    if (route) route(res, url);
    else res.writeHead(404).end();
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>(r => (server.closeAllConnections(), server.close(() => r()))) };
};

let cp: Awaited<ReturnType<typeof host>>;
let foreign: Awaited<ReturnType<typeof host>>;
const opts = () => ({ controlPlaneUrl: cp.url, token: TOKEN, maxBytes: 1024, timeoutMs: 2000 });
const failure = (p: Promise<unknown>) => p.then(() => undefined, (err: unknown) => err as MediaSourceError);

beforeAll(async () => {
  foreign = await host({
    '/file.pdf': res => res.writeHead(200, { 'content-type': 'application/pdf' }).end(FILE),
    '/back': res => res.writeHead(302, { location: `${cp.url}/internal/media/doc` }).end(),
    '/big-chunked': res => {
      res.writeHead(200);
      for (let i = 0; i < 5; i++) res.write(Buffer.alloc(400));
      res.end();
    },
    '/slow': res => setTimeout(() => res.writeHead(200).end(FILE), 5000).unref(),
    '/empty': res => res.writeHead(200).end(),
  });
  cp = await host({
    '/internal/media/doc': res => res.writeHead(200).end(FILE),
    '/internal/media/elsewhere': res => res.writeHead(302, { location: `${foreign.url}/file.pdf` }).end(),
    '/internal/media/big': res => res.writeHead(200, { 'content-length': '2048' }).end(Buffer.alloc(2048)),
  });
});
afterAll(async () => {
  await cp?.close();
  await foreign?.close();
});

describe('the runner token', () => {
  it('is sent to the control plane’s own URLs', async () => {
    expect((await downloadMedia(`${cp.url}/internal/media/doc`, opts())).equals(FILE)).toBe(true);
    expect(cp.seen.at(-1)!.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('is never sent to another host, nor to one a control-plane redirect points at', async () => {
    expect((await downloadMedia(`${foreign.url}/file.pdf`, opts())).equals(FILE)).toBe(true);
    expect(foreign.seen.at(-1)!.headers.authorization).toBeUndefined();

    const before = foreign.seen.length;
    expect((await downloadMedia(`${cp.url}/internal/media/elsewhere`, opts())).equals(FILE)).toBe(true);
    expect(foreign.seen.slice(before).map(s => [s.url, s.headers.authorization])).toEqual([['/file.pdf', undefined]]);

    // …and a foreign redirect back to the control plane gets it again, there only.
    expect((await downloadMedia(`${foreign.url}/back`, opts())).equals(FILE)).toBe(true);
    expect(foreign.seen.at(-1)!.headers.authorization).toBeUndefined();
    expect(cp.seen.at(-1)!.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('is matched by origin and path, not by string prefix', () => {
    const base = 'https://cp.example.com/api';
    expect(isControlPlaneUrl(new URL('https://cp.example.com/api/internal/media/x'), base)).toBe(true);
    expect(isControlPlaneUrl(new URL('https://cp.example.com.evil.test/api/internal/media/x'), base)).toBe(false);
    expect(isControlPlaneUrl(new URL('https://cp.example.com:8443/api/internal/media/x'), base)).toBe(false);
    expect(isControlPlaneUrl(new URL('http://cp.example.com/api/internal/media/x'), base)).toBe(false);
    expect(isControlPlaneUrl(new URL('https://cp.example.com/apix/internal/media/x'), base)).toBe(false);
    expect(isControlPlaneUrl(new URL('https://user:pw@cp.example.com/api/x'), base)).toBe(false);
    expect(isControlPlaneUrl(new URL('http://127.0.0.1:80/internal/media/x'), 'http://127.0.0.1')).toBe(true);
  });
});

describe('failures', () => {
  it('a missing file, a dead host, an empty file or a non-http URL is media_unavailable', async () => {
    expect(await failure(downloadMedia(`${cp.url}/internal/media/nope`, opts()))).toMatchObject({ code: 'media_unavailable', message: expect.stringContaining('404') });
    const dead = await host({});
    await dead.close();
    expect(await failure(downloadMedia(`${dead.url}/x`, opts()))).toMatchObject({ code: 'media_unavailable', message: expect.stringContaining('ECONNREFUSED') });
    expect(await failure(downloadMedia(`${foreign.url}/empty`, opts()))).toMatchObject({ code: 'media_unavailable', message: expect.stringContaining('empty') });
    expect(await failure(downloadMedia('file:///etc/passwd', opts()))).toMatchObject({ code: 'media_unavailable' });
  });

  it('a file over MAX_MEDIA_BYTES is media_too_large, whether declared or streamed', async () => {
    expect(await failure(downloadMedia(`${cp.url}/internal/media/big`, opts()))).toMatchObject({ code: 'media_too_large' });
    expect(await failure(downloadMedia(`${foreign.url}/big-chunked`, opts()))).toMatchObject({ code: 'media_too_large' });
  });

  it('a slow source is cut off at the timeout', async () => {
    const started = Date.now();
    const err = await failure(downloadMedia(`${foreign.url}/slow`, { ...opts(), timeoutMs: 300 }));
    expect(err).toMatchObject({ code: 'media_unavailable', message: expect.stringContaining('timed out') });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('messages never show a URL’s query (presigned URLs carry credentials there)', async () => {
    const err = await failure(downloadMedia(`${cp.url}/internal/media/nope?sig=SECRET`, opts()));
    expect(err!.message).not.toContain('SECRET');
  });
});
