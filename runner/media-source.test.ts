// The runner's own download of a media send's file: only from the control plane (so the token reaches
// no one else, and a runner is no proxy into its operator's network), the size and time bounds hold, and
// every failure has its code.
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
  // Another host on the runner's network, which must never be asked anything.
  foreign = await host({
    '/file.pdf': res => res.writeHead(200, { 'content-type': 'application/pdf' }).end(FILE),
  });
  cp = await host({
    '/internal/media/doc': res => res.writeHead(200).end(FILE),
    '/internal/media/moved': res => res.writeHead(302, { location: '/internal/media/doc' }).end(),
    '/internal/media/elsewhere': res => res.writeHead(302, { location: `${foreign.url}/file.pdf` }).end(),
    '/internal/media/big': res => res.writeHead(200, { 'content-length': '2048' }).end(Buffer.alloc(2048)),
    '/internal/media/big-chunked': res => {
      res.writeHead(200);
      for (let i = 0; i < 5; i++) res.write(Buffer.alloc(400));
      res.end();
    },
    '/internal/media/slow': res => setTimeout(() => res.writeHead(200).end(FILE), 5000).unref(),
    '/internal/media/empty': res => res.writeHead(200).end(),
  });
});
afterAll(async () => {
  await cp?.close();
  await foreign?.close();
});

describe('the source', () => {
  it('is the control plane, asked with the runner token', async () => {
    expect((await downloadMedia(`${cp.url}/internal/media/doc`, opts())).equals(FILE)).toBe(true);
    expect(cp.seen.at(-1)!.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('is never another host: it is refused before anything is sent there, token or not', async () => {
    const offPlane = { code: 'media_unavailable', message: expect.stringMatching(/is not under CONTROL_PLANE_URL/) };
    expect(await failure(downloadMedia(`${foreign.url}/file.pdf`, opts()))).toMatchObject(offPlane);
    // Another port of the same host is another origin.
    expect(await failure(downloadMedia(`${cp.url.replace(/:\d+$/, ':1')}/internal/media/doc`, opts()))).toMatchObject(offPlane);
    expect(await failure(downloadMedia('http://169.254.169.254/latest/meta-data/', opts()))).toMatchObject(offPlane);
    expect(await failure(downloadMedia('file:///etc/passwd', opts()))).toMatchObject({ code: 'media_unavailable', message: expect.stringContaining('a file URL') });
    expect(foreign.seen).toEqual([]);
  });

  it('goes with the epoch of the lease the send runs under', async () => {
    expect((await downloadMedia(`${cp.url}/internal/media/doc`, { ...opts(), epoch: 7 })).equals(FILE)).toBe(true);
    expect(cp.seen.at(-1)!.url).toBe('/internal/media/doc?epoch=7');
  });

  it('is never where a control-plane redirect points off it', async () => {
    const err = await failure(downloadMedia(`${cp.url}/internal/media/elsewhere`, opts()));
    expect(err).toMatchObject({ code: 'media_unavailable', message: `${foreign.url}/file.pdf is not under CONTROL_PLANE_URL: a runner downloads media only from the control plane` });
    expect(cp.seen.at(-1)!.url).toBe('/internal/media/elsewhere');
    expect(foreign.seen).toEqual([]);
  });

  it('may redirect within the control plane', async () => {
    expect((await downloadMedia(`${cp.url}/internal/media/moved`, opts())).equals(FILE)).toBe(true);
    expect(cp.seen.at(-1)!).toMatchObject({ url: '/internal/media/doc', headers: { authorization: `Bearer ${TOKEN}` } });
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
    expect(await failure(downloadMedia(`${dead.url}/internal/media/x`, { ...opts(), controlPlaneUrl: dead.url }))).toMatchObject({ code: 'media_unavailable', message: expect.stringContaining('ECONNREFUSED') });
    expect(await failure(downloadMedia(`${cp.url}/internal/media/empty`, opts()))).toMatchObject({ code: 'media_unavailable', message: expect.stringContaining('empty') });
  });

  it('a file over MAX_MEDIA_BYTES is media_too_large, whether declared or streamed', async () => {
    expect(await failure(downloadMedia(`${cp.url}/internal/media/big`, opts()))).toMatchObject({ code: 'media_too_large' });
    expect(await failure(downloadMedia(`${cp.url}/internal/media/big-chunked`, opts()))).toMatchObject({ code: 'media_too_large' });
  });

  it('a slow source is cut off at the timeout', async () => {
    const started = Date.now();
    const err = await failure(downloadMedia(`${cp.url}/internal/media/slow`, { ...opts(), timeoutMs: 300 }));
    expect(err).toMatchObject({ code: 'media_unavailable', message: expect.stringContaining('timed out') });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('messages never show a URL’s query (presigned URLs carry credentials there)', async () => {
    const err = await failure(downloadMedia(`${cp.url}/internal/media/nope?sig=SECRET`, opts()));
    expect(err!.message).not.toContain('SECRET');
  });
});
