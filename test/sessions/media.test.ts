// Media sends end to end, through the public API only: a file given as base64 or fetched from a URL by
// the Worker, stored in R2, downloaded by the runner from the control plane and sent with real Baileys to
// an emulated contact, who decrypts it with its hashes verified. The first part drives the runner side
// by hand (a runner reduced to its protocol) to see the file handed over and cleaned up.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { baseUrl, call, closeDatabase, eventually, expectError, newTenant, uniqueId } from '../harness/api';
import { HOSTILE_URLS } from '../harness/hostile-urls';
import { ProtocolRunner, connectedThrough, mediaFile, type CommandFrame } from '../harness/protocol-runner';
import { connectionPk } from '../harness/seed';
import { launchRunner, linkedConnection, phone, phoneNumber, stopRunners } from '../harness/whatsapp';

afterAll(async () => {
  await stopRunners();
  await closeDatabase();
});

type Tenant = Awaited<ReturnType<typeof newTenant>>;
const MAX_MEDIA_BYTES = () => inject('maxMediaBytes');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('the API reference', () => {
  it('documents media on send-message', async () => {
    const { schemas } = (await call('GET', '/api/openapi.json')).body.components;
    expect(schemas.SendMessageBody.properties.media).toEqual({ $ref: '#/components/schemas/SendMessageMedia' });
    // Additive: the seed's fields are unchanged, only `message` may now be left out (when media is given).
    expect(schemas.SendMessageBody.required).toEqual(['connection_id', 'to']);
    expect(Object.keys(schemas.SendMessageMedia.properties)).toEqual(['type', 'url', 'base64', 'mimetype', 'filename', 'ptt']);
    for (const [name, property] of Object.entries<any>(schemas.SendMessageMedia.properties)) {
      expect(property.description, name).toBeTruthy();
      expect(property.example, name).toBeDefined();
    }
    expect(schemas.SendMessageMedia.example).toMatchObject({ type: 'document', url: expect.any(String) });
  });
});

describe('the file between the API and the runner', () => {
  let runner: ProtocolRunner;
  let t: Tenant;
  let id: string;
  let epoch: number;
  const handled = new Set<string>();
  /** The file as this connection's lease holder downloads it (its own token, its epoch). */
  const asHolder = (url: string) => mediaFile(runner.id, url, epoch);

  beforeAll(async () => {
    runner = await ProtocolRunner.connect(`media-${randomUUID().slice(0, 6)}`);
    t = await newTenant('media-wire');
    id = uniqueId();
    ({ epoch } = await connectedThrough(runner, t, id));
  });

  afterAll(async () => {
    // Gone before real runners start below, so none of them picks this connection up.
    await t.api.delete(`/api/connections/${id}`);
    runner.close();
  });

  const nextSend = async () => {
    const frame = (await runner.waitFor((f) => f.type === 'command' && f.command.name === 'send' && !handled.has(f.request_id))) as CommandFrame;
    handled.add(frame.request_id);
    if (frame.command.name !== 'send' || !frame.command.media) throw new Error(`not a media send: ${JSON.stringify(frame.command)}`);
    return { frame, command: frame.command, media: frame.command.media };
  };
  const reply = (frame: CommandFrame, answer: { ok: true } | { ok: false; code: string; message: string }) =>
    runner.send(
      answer.ok
        ? { type: 'reply', request_id: frame.request_id, ok: true, result: { timestamp: new Date().toISOString() } }
        : { type: 'reply', request_id: frame.request_id, ok: false, error: { code: answer.code as never, message: answer.message } },
    );
  const fileGone = (url: string) => eventually(async () => (await asHolder(url)).status === 404, 'the stored file to be deleted', 10_000);

  it("hands the runner a link under the control plane's origin that serves the file to the runner token only, then deletes it", async () => {
    // URL-safe, unpadded and wrapped at 76 characters: the bytes stored are still exactly the file's.
    const file = randomBytes(3001);
    const sending = t.api.post('/api/send-message', {
      connection_id: id,
      to: '15550002222',
      message: 'the notes',
      media: { type: 'document', base64: file.toString('base64url').replace(/(.{76})/g, '$1\r\n'), filename: 'notes.txt' },
    });
    const { frame, command, media } = await nextSend();
    expect(command.text).toBe('the notes');
    expect(media).toEqual({ kind: 'document', mimetype: 'text/plain', filename: 'notes.txt', source: { url: expect.any(String) } });
    const pk = await connectionPk(id, t.tenantId);
    expect(media.source.url).toMatch(new RegExp(`^${baseUrl()}/internal/media/${pk}/[0-9a-f-]{36}$`));

    expect((await fetch(media.source.url)).status).toBe(401);
    expect((await fetch(media.source.url, { headers: { authorization: 'Bearer sk_live_not-a-runner' } })).status).toBe(401);
    const download = await asHolder(media.source.url);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('text/plain');
    expect(Buffer.from(await download.arrayBuffer()).equals(file)).toBe(true);

    reply(frame, { ok: true });
    const sent = await sending;
    expect(sent.status).toBe(200);
    expect(sent.body.provider_message_id).toBe(command.message_id);
    await fileGone(media.source.url);
  });

  it.each([
    ['media_too_large', 413, 'media_too_large'],
    ['media_unavailable', 502, 'media_unavailable'],
    ['bad_command', 400, 'bad_request'],
    ['send_failed', 502, 'send_failed'],
  ])('answers the runner error %s with %i %s, and deletes the file', async (runnerCode, status, code) => {
    const sending = t.api.post('/api/send-message', { connection_id: id, to: '15550002222', media: { type: 'image', base64: randomBytes(100).toString('base64') } });
    const { frame, media } = await nextSend();
    expect(media.mimetype).toBe('image/jpeg');
    reply(frame, { ok: false, code: runnerCode, message: `runner said ${runnerCode}` });
    expectError(await sending, status, code);
    await fileGone(media.source.url);
  });

  it('keeps the file after a timeout: the runner may still be downloading it', async () => {
    const sending = t.api.post('/api/send-message', { connection_id: id, to: '15550002222', media: { type: 'video', base64: randomBytes(100).toString('base64') } });
    const { media } = await nextSend();
    expect(media).toMatchObject({ kind: 'video', mimetype: 'video/mp4' });
    expectError(await sending, 504, 'runner_timeout');
    expect((await asHolder(media.source.url)).status).toBe(200);
  }, 40_000);
});

describe('media sends a contact receives', () => {
  let t: Tenant;
  let link: { id: string; number: string };
  const contact = phoneNumber();
  let server: Server;
  const hits = new Map<string, number>();
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(150_000), Buffer.from('\n%%EOF\n')]);
  const files = () => `http://127.0.0.1:${inject('mediaServerPort')}`;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = new URL(req.url!, 'http://x').pathname;
      hits.set(path, (hits.get(path) ?? 0) + 1);
      switch (path) {
        case '/files/brochure.pdf':
        case '/download':
          return res.writeHead(200, { 'content-type': 'application/pdf' }).end(pdf);
        case '/declared-too-large':
          return res.writeHead(200, { 'content-length': String(MAX_MEDIA_BYTES() + 1) }).end(Buffer.alloc(MAX_MEDIA_BYTES() + 1));
        case '/streamed-too-large':
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          for (let i = 0; i < 10; i++) res.write(Buffer.alloc(MAX_MEDIA_BYTES() / 8));
          return res.end();
        // An allowed source that sends the Worker on to where it must not go.
        case '/moved-to-metadata':
          return res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/' }).end();
        case '/moved-to-wildcard-dns':
          return res.writeHead(301, { location: `http://127.0.0.1.nip.io:${inject('mediaServerPort')}/files/brochure.pdf` }).end();
        case '/moved-to-webhook-sink':
          return res.writeHead(307, { location: `http://127.0.0.1:${inject('webhookSinkPort')}/files/brochure.pdf` }).end();
        default:
          return res.writeHead(404, { 'content-type': 'text/plain' }).end('no such file');
      }
    });
    await new Promise<void>((resolve) => server.listen(inject('mediaServerPort'), '127.0.0.1', resolve));
    await launchRunner();
    t = await newTenant('media');
    await phone('POST', '/contacts', { phone: contact, name: 'Bob' });
    link = await linkedConnection(t);
  });

  afterAll(() => {
    server?.closeAllConnections();
    server?.close();
  });

  const inbox = (): Promise<{ id: string; text: string; media?: Record<string, unknown> }[]> => phone('GET', `/contacts/${contact}/inbox`);
  const received = (pid: string) => eventually(async () => (await inbox()).find((m) => m.id === pid && m.media), 'the contact to decrypt the file');
  const history = async (pid: string) => ((await t.api.get(`/api/messages/${link.id}/${contact}`)).body as any[]).find((m) => m.provider_message_id === pid);
  const send = (body: Record<string, unknown>) => t.api.post('/api/send-message', { connection_id: link.id, to: contact, ...body });

  it('sends an image given as base64 (a body over MAX_BODY_BYTES), with its caption, shown in history; a retry sends nothing', async () => {
    const png = await sharp({ create: { width: 240, height: 240, channels: 3, background: '#336699', noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
      .png()
      .toBuffer();
    expect(png.toString('base64').length).toBeGreaterThan(128 * 1024);
    const body = { message: 'Look at this', client_message_id: `img-${uniqueId()}`, media: { type: 'image', base64: png.toString('base64') } };
    const sent = await send(body);
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    expect(sent.body).toMatchObject({ status: 'sent', client_message_id: body.client_message_id });
    const pid = sent.body.provider_message_id;

    const entry = await received(pid);
    expect(entry.media).toMatchObject({ type: 'image', mimetype: 'image/png', caption: 'Look at this', size: png.length, sha256: true });
    expect(await history(pid)).toMatchObject({
      direction: 'outbound',
      type: 'image',
      message: 'Look at this',
      client_message_id: body.client_message_id,
      // The shape a received image's content has (protocol/inbound-content.ts MediaContent).
      content: { mimetype: 'image/png', size: png.length, sha256: sha256(png) },
    });

    const again = await send(body);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(sent.body);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await inbox()).filter((m) => m.id === pid)).toHaveLength(1);
  }, 60_000);

  it('sends a document the Worker fetches from a URL, named after it; a retry neither fetches nor sends again', async () => {
    const body = { message: 'Our prices', client_message_id: `doc-${uniqueId()}`, media: { type: 'document', url: `${files()}/files/brochure.pdf?v=1` } };
    const before = hits.get('/files/brochure.pdf') ?? 0;
    const sent = await send(body);
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    const pid = sent.body.provider_message_id;
    const entry = await received(pid);
    expect(entry.media).toMatchObject({ type: 'document', mimetype: 'application/pdf', caption: 'Our prices', fileName: 'brochure.pdf', size: pdf.length, sha256: true });
    expect(await history(pid)).toMatchObject({
      type: 'document',
      message: 'Our prices',
      content: { mimetype: 'application/pdf', filename: 'brochure.pdf', size: pdf.length, sha256: sha256(pdf) },
    });
    expect(hits.get('/files/brochure.pdf')).toBe(before + 1);

    const again = await send(body);
    expect(again.body).toEqual(sent.body);
    expect(hits.get('/files/brochure.pdf')).toBe(before + 1);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await inbox()).filter((m) => m.id === pid)).toHaveLength(1);
  }, 60_000);

  it('sends a document under the file name given, without a caption', async () => {
    const sent = await send({ media: { type: 'document', url: `${files()}/download`, filename: 'Price list 2026.pdf' } });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    const entry = await received(sent.body.provider_message_id);
    expect(entry.media).toMatchObject({ type: 'document', mimetype: 'application/pdf', fileName: 'Price list 2026.pdf', caption: null, sha256: true });
    expect(await history(sent.body.provider_message_id)).toMatchObject({ type: 'document', message: null });
  }, 60_000);

  it.each([
    ['both url and base64', { media: { type: 'image', url: 'https://example.com/a.png', base64: 'iVBORw0KGgo=' } }],
    ['neither url nor base64', { media: { type: 'image' } }],
    ['invalid base64', { media: { type: 'image', base64: 'this is not base64!' } }],
    ['a caption on audio', { message: 'listen to this', media: { type: 'audio', base64: 'T2dnUwACAAAAAAAA' } }],
    ['ptt on a video', { media: { type: 'video', base64: 'AAAAGGZ0eXBtcDQy', ptt: true } }],
    ['an unknown media type', { media: { type: 'sticker', base64: 'AAAA' } }],
    ['no message and no media', {}],
  ])('refuses %s with 400 validation_failed', async (_label, body) => {
    expectError(await send(body), 400, 'validation_failed');
  });

  it('refuses private, loopback and link-local URLs other than the one target the operator allowed', async () => {
    const port = inject('mediaServerPort');
    for (const url of [
      `http://localhost:${port}/files/brochure.pdf`,
      `http://127.0.0.1:${port + 1}/files/brochure.pdf`,
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.5/file.pdf',
      'http://[::1]/file.pdf',
      'file:///etc/passwd',
    ]) {
      const res = await send({ media: { type: 'document', url } });
      expectError(res, 400, 'invalid_media_url');
    }
  });

  it('refuses every hostile form of media URL with 400 invalid_media_url, saying which rule', async () => {
    for (const [url, reason] of HOSTILE_URLS) {
      const res = await send({ media: { type: 'document', url } });
      expectError(res, 400, 'invalid_media_url');
      expect(res.body.error.details, url).toEqual({ reason });
    }
    // The webhook sink the operator allowed as a webhook target is no media source: each allowance is its own.
    const sink = await send({ media: { type: 'document', url: `http://127.0.0.1:${inject('webhookSinkPort')}/files/brochure.pdf` } });
    expectError(sink, 400, 'invalid_media_url');
    expect(sink.body.error.details).toEqual({ reason: 'private_address' });
  });

  it.each([
    ['/moved-to-metadata', 'http://169.254.169.254/latest/meta-data/iam/security-credentials/', /link-local/],
    ['/moved-to-wildcard-dns', () => `http://127.0.0.1.nip.io:${inject('mediaServerPort')}/files/brochure.pdf`, /wildcard DNS/],
    ['/moved-to-webhook-sink', () => `http://127.0.0.1:${inject('webhookSinkPort')}/files/brochure.pdf`, /loopback/],
  ])('refuses an allowed source that redirects to a non-public one (%s), and records nothing', async (path, target, why) => {
    const client_message_id = `moved-${uniqueId()}`;
    const res = await send({ client_message_id, media: { type: 'document', url: `${files()}${path}` } });
    expectError(res, 400, 'invalid_media_url');
    const to = typeof target === 'function' ? target() : target;
    expect(res.body.error.details).toEqual({ reason: 'private_address', redirected_to: to });
    expect(res.body.error.message).toMatch(why);
    const rows = (await t.api.get(`/api/messages/${link.id}/${contact}`)).body as any[];
    expect(rows.some((m) => m.client_message_id === client_message_id)).toBe(false);
  });

  it('refuses files over MAX_MEDIA_BYTES with 413, and bodies over what this route allows', async () => {
    const max = MAX_MEDIA_BYTES();
    expectError(await send({ media: { type: 'document', base64: randomBytes(max + 1).toString('base64') } }), 413, 'media_too_large');
    expectError(await send({ media: { type: 'document', url: `${files()}/declared-too-large` } }), 413, 'media_too_large');
    expectError(await send({ media: { type: 'document', url: `${files()}/streamed-too-large` } }), 413, 'media_too_large');
    // Past MAX_BODY_BYTES plus the base64 of MAX_MEDIA_BYTES the body itself is refused.
    expectError(await send({ media: { type: 'document', base64: randomBytes(max + 200 * 1024).toString('base64') } }), 413, 'payload_too_large');
  });

  it('keeps MAX_BODY_BYTES on every other route', async () => {
    const big = { connection_id: uniqueId(), webhook_url: `https://example.com/${'x'.repeat(300 * 1024)}` };
    expectError(await t.api.post('/api/connections', big), 413, 'payload_too_large');
    // The roomier limit only admits media: a text still has its own bound.
    expectError(await send({ message: 'x'.repeat(300 * 1024) }), 400, 'validation_failed');
  });

  it('answers 422 media_unavailable for a URL that answers 404, and records nothing', async () => {
    const client_message_id = `missing-${uniqueId()}`;
    const res = await send({ client_message_id, media: { type: 'image', url: `${files()}/missing.png?token=secret` } });
    expectError(res, 422, 'media_unavailable');
    expect(res.body.error.details).toMatchObject({ status: 404, url: `${files()}/missing.png` });
    expect(res.body.error.message).not.toContain('secret');
    const rows = (await t.api.get(`/api/messages/${link.id}/${contact}`)).body as any[];
    expect(rows.some((m) => m.client_message_id === client_message_id)).toBe(false);
  });
});
