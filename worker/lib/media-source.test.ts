import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../http/errors';
import { acceptMediaUrl, decodeBase64, fetchMedia, mediaFromBase64, mediaSourcePolicy } from './media-source';
import { parsePrivateTargetPolicy } from './outbound-url';

const strict = parsePrivateTargetPolicy('');

async function failure(work: () => unknown): Promise<ApiError> {
  try {
    await work();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
}

describe('base64 media', () => {
  it('decodes standard and URL-safe base64, with or without padding and line breaks', () => {
    const bytes = Uint8Array.from([0xfb, 0xff, 0xbf, 0x00, 0x41]);
    const standard = Buffer.from(bytes).toString('base64');
    expect(decodeBase64(standard)).toEqual(bytes);
    expect(decodeBase64(standard.replace(/=+$/, ''))).toEqual(bytes);
    expect(decodeBase64(Buffer.from(bytes).toString('base64url'))).toEqual(bytes);
    expect(decodeBase64(`${standard.slice(0, 4)}\r\n${standard.slice(4)}\n`)).toEqual(bytes);
  });

  it.each(['not base64!', 'QUJD=A', 'QUJDR', 'QUJD==='])('refuses %j', async (text) => {
    expect(decodeBase64(text)).toBeUndefined();
    expect(await failure(() => mediaFromBase64(text, 1000))).toMatchObject({ status: 400, code: 'validation_failed' });
  });

  it('refuses files over the limit with 413 media_too_large', async () => {
    const text = Buffer.alloc(1001).toString('base64');
    expect(await failure(() => mediaFromBase64(text, 1000))).toMatchObject({ status: 413, code: 'media_too_large' });
    expect(mediaFromBase64(Buffer.alloc(1000, 7).toString('base64'), 1000)).toHaveLength(1000);
    // Line breaks do not count towards the size.
    const wrapped = Buffer.alloc(1000, 7).toString('base64').replace(/(.{76})/g, '$1\n');
    expect(mediaFromBase64(wrapped, 1000)).toHaveLength(1000);
  });
});

describe('media URLs', () => {
  let server: Server;
  let base: string;
  let port: number;
  const hits: string[] = [];
  const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(5000, 1)]);

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url!);
      const url = new URL(req.url!, 'http://x');
      switch (url.pathname) {
        case '/files/brochure.pdf':
          return res.writeHead(200, { 'content-type': 'application/pdf' }).end(PDF);
        case '/declared-large':
          return res.writeHead(200, { 'content-length': '100000' }).end(Buffer.alloc(100_000));
        case '/streamed-large': {
          // No Content-Length: the size is only known while reading.
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          let sent = 0;
          const more = () => {
            if (sent >= 200_000 || res.destroyed) return res.end();
            sent += 10_000;
            res.write(Buffer.alloc(10_000), () => setTimeout(more, 1));
          };
          return more();
        }
        case '/empty':
          return res.writeHead(200).end();
        case '/slow':
          return setTimeout(() => res.writeHead(200).end('late'), 2_000);
        case '/redirect':
          return res.writeHead(302, { location: '/files/brochure.pdf' }).end();
        case '/redirect-private':
          return res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/?token=secret' }).end();
        case '/redirect-spelled':
          return res.writeHead(301, { location: 'http://127.0.0.1.nip.io/admin' }).end();
        case '/redirect-other-port':
          return res.writeHead(307, { location: `http://127.0.0.1:${port + 1}/files/brochure.pdf` }).end();
        case '/redirect-credentials':
          return res.writeHead(302, { location: 'https://user:pw@files.example.com/a.pdf' }).end();
        case '/redirect-loop':
          return res.writeHead(302, { location: '/redirect-loop' }).end();
        default:
          return res.writeHead(404).end('not here');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  // The test server is on loopback: allowed here exactly as an operator would allow it for development.
  const allowed = () => parsePrivateTargetPolicy(`127.0.0.1:${port}`);

  it('uses the outbound URL rules: non-public targets are refused unless allowed', async () => {
    for (const url of [`${base}/files/brochure.pdf`, 'http://169.254.169.254/latest/meta-data/', 'http://localhost/x', 'http://10.0.0.5/x', 'ftp://example.com/x', 'not a url']) {
      expect(() => acceptMediaUrl(url, strict)).toThrow(ApiError);
      expect(await failure(() => fetchMedia(url, { policy: strict, maxBytes: 1e6 }))).toMatchObject({ status: 400, code: 'invalid_media_url' });
    }
    expect(acceptMediaUrl('https://example.com/a.pdf', strict).toString()).toBe('https://example.com/a.pdf');
    expect(acceptMediaUrl(`${base}/a.pdf`, allowed()).toString()).toBe(`${base}/a.pdf`);
    expect(acceptMediaUrl(`${base}/a.pdf`, parsePrivateTargetPolicy('true')).toString()).toBe(`${base}/a.pdf`);
    // An allowed host:port does not open the others.
    expect(() => acceptMediaUrl(`http://127.0.0.1:${port + 1}/a.pdf`, allowed())).toThrow(/not a public address/);
  });

  it('fetches a file with its content type and name', async () => {
    const got = await fetchMedia(`${base}/files/brochure.pdf?sig=secret`, { policy: allowed(), maxBytes: 1e6 });
    expect(Buffer.from(got.bytes).equals(PDF)).toBe(true);
    expect(got).toMatchObject({ contentType: 'application/pdf', name: 'brochure.pdf' });
  });

  it('has its own allowance, ALLOW_PRIVATE_MEDIA_SOURCES: the webhook one does not open media sources', () => {
    expect(mediaSourcePolicy({ ALLOW_PRIVATE_MEDIA_SOURCES: `127.0.0.1:${port}` }).allowed.has(`127.0.0.1:${port}`)).toBe(true);
    const webhookOnly = { ALLOW_PRIVATE_WEBHOOK_TARGETS: 'true' } as { ALLOW_PRIVATE_MEDIA_SOURCES?: string };
    expect(() => acceptMediaUrl(`${base}/a.pdf`, mediaSourcePolicy(webhookOnly))).toThrow(/not a public address/);
  });

  it('says which rule refused a URL', async () => {
    for (const [url, reason] of [
      ['http://127.0.0.1.nip.io/a.pdf', 'private_address'],
      ['http://[2002:a9fe:a9fe::]/a.pdf', 'private_address'],
      ['https://files.example.com:8443/a.pdf', 'port'],
      ['https://u:p@files.example.com/a.pdf', 'credentials'],
      ['gopher://files.example.com/a.pdf', 'scheme'],
    ]) {
      expect(await failure(() => fetchMedia(url!, { policy: strict, maxBytes: 1e6 })), url).toMatchObject({ status: 400, code: 'invalid_media_url', details: { reason } });
    }
  });

  it('follows redirects, judging every hop by the policy', async () => {
    expect((await fetchMedia(`${base}/redirect`, { policy: allowed(), maxBytes: 1e6 })).name).toBe('brochure.pdf');
    const metadata = await failure(() => fetchMedia(`${base}/redirect-private`, { policy: allowed(), maxBytes: 1e6 }));
    expect(metadata).toMatchObject({
      status: 400,
      code: 'invalid_media_url',
      details: { reason: 'private_address', redirected_to: 'http://169.254.169.254/latest/meta-data/' },
    });
    expect(metadata.message).toMatch(/redirected to http:\/\/169\.254\.169\.254\/latest\/meta-data\/, refused: .*link-local/);
    expect(metadata.message).not.toContain('secret');
    for (const [path, reason] of [['/redirect-spelled', 'private_address'], ['/redirect-other-port', 'private_address'], ['/redirect-credentials', 'credentials']]) {
      expect(await failure(() => fetchMedia(`${base}${path}`, { policy: allowed(), maxBytes: 1e6 })), path).toMatchObject({ status: 400, code: 'invalid_media_url', details: { reason } });
    }
    expect(await failure(() => fetchMedia(`${base}/redirect-loop`, { policy: allowed(), maxBytes: 1e6 }))).toMatchObject({
      status: 422,
      code: 'media_unavailable',
    });
  });

  it('refuses a declared size over the limit at once, and a streamed one while reading', async () => {
    expect(await failure(() => fetchMedia(`${base}/declared-large`, { policy: allowed(), maxBytes: 50_000 }))).toMatchObject({
      status: 413,
      code: 'media_too_large',
    });
    expect(await failure(() => fetchMedia(`${base}/streamed-large`, { policy: allowed(), maxBytes: 50_000 }))).toMatchObject({
      status: 413,
      code: 'media_too_large',
    });
  });

  it('answers media_unavailable for a non-2xx answer, an empty file, a timeout or an unreachable host', async () => {
    const err = await failure(() => fetchMedia(`${base}/missing.png?token=secret`, { policy: allowed(), maxBytes: 1e6 }));
    expect(err).toMatchObject({ status: 422, code: 'media_unavailable', details: { status: 404, url: `${base}/missing.png` } });
    expect(err.message).not.toContain('secret');
    expect(await failure(() => fetchMedia(`${base}/empty`, { policy: allowed(), maxBytes: 1e6 }))).toMatchObject({ code: 'media_unavailable' });
    const slow = await failure(() => fetchMedia(`${base}/slow`, { policy: allowed(), maxBytes: 1e6, timeoutMs: 300 }));
    expect(slow).toMatchObject({ code: 'media_unavailable' });
    expect(slow.message).toMatch(/timed out/);
    const closed = await failure(() => fetchMedia(`http://127.0.0.1:1/x`, { policy: parsePrivateTargetPolicy('true'), maxBytes: 1e6 }));
    expect(closed).toMatchObject({ status: 422, code: 'media_unavailable' });
  });
});
