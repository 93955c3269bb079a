// Received media end to end (issue #14): a contact of the emulator sends real files (encrypted, on the emulated
// media host); a real runner with real Baileys downloads each as it arrives and streams it to the control plane,
// which keeps it in R2; GET /api/media answers the exact bytes (ranges, ETag) to the tenant only, the webhook
// carries a signed link that works without a key until it expires, a file over the tenant's limit keeps its
// metadata only, and a file the media host no longer has is asked again from the phone (media retry).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { baseUrl, call, closeDatabase, database, eventually, expectError, newTenant, uniqueId } from '../harness/api';
import { Sink } from '../harness/webhook-sink';
import { launchRunner, linkedConnection, phone, phoneNumber, stopRunners } from '../harness/whatsapp';
import { signLink } from '../../worker/media-in/links';
import { tenantLimits } from '../../drizzle/schema';
import { ProtocolRunner, connectedThrough } from '../harness/protocol-runner';
import { runnerToken } from '../harness/runner-tokens';

const sink = new Sink();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
type Tenant = Awaited<ReturnType<typeof newTenant>>;

beforeAll(async () => {
  await sink.start(inject('webhookSinkPort'));
  await launchRunner();
});

afterAll(async () => {
  await stopRunners();
  await sink.stop();
  await closeDatabase();
});

const get = async (url: string, headers: Record<string, string> = {}) => {
  const res = await fetch(new URL(url, baseUrl()), { headers });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
};
const errorOf = (r: { bytes: Buffer }) => JSON.parse(r.bytes.toString('utf8')).error;

describe('received media through a real runner', () => {
  let t: Tenant;
  let link: { id: string; number: string };
  let hook: { url: string; path: string };
  const contact = phoneNumber();
  const auth = () => ({ authorization: `Bearer ${t.apiKey}` });

  const history = async () => (await t.api.get(`/api/messages/${link.id}/${contact}`)).body as any[];
  /** The contact sends a file; answers what it sent and the message once stored with its media. */
  const sendFile = async (body: Record<string, unknown>) => {
    const sent = await phone<{ id: string; sha256: string; size: number }>('POST', `/contacts/${contact}/media`, { to: link.number, ...body });
    const stored = await eventually(async () => (await history()).find((m) => m.provider_message_id === sent.id && m.media), `${sent.id} stored with its media`);
    return { sent, stored };
  };

  beforeAll(async () => {
    t = await newTenant('media-in');
    await phone('POST', '/contacts', { phone: contact, name: 'Bob' });
    link = await linkedConnection(t);
    hook = sink.endpoint();
    expect((await t.api.patch(`/api/connections/${link.id}/webhook`, { webhook_url: hook.url })).status).toBe(200);
  });

  it('an image, a document and a voice note are stored, and GET /api/media answers their exact bytes', async () => {
    const files = [
      { type: 'image', base64: randomBytes(70_000).toString('base64'), mimetype: 'image/jpeg', caption: 'look' },
      { type: 'document', base64: randomBytes(123_457).toString('base64'), mimetype: 'application/pdf', fileName: 'invoice ünïcode.pdf' },
      { type: 'audio', base64: randomBytes(9_999).toString('base64'), mimetype: 'audio/ogg; codecs=opus', ptt: true },
    ];
    for (const f of files) {
      const { sent, stored } = await sendFile(f);
      const bytes = Buffer.from(f.base64, 'base64');
      expect(sent.sha256).toBe(sha256(bytes));
      expect(stored.media).toEqual({
        mimetype: f.mimetype,
        size: bytes.length,
        filename: f.fileName ?? null,
        sha256: sent.sha256,
        url: `/api/media/${link.id}/${sent.id}`,
        reason: null,
      });
      const file = await get(stored.media.url, auth());
      expect(file.status).toBe(200);
      expect(file.headers.get('content-type')).toBe(f.mimetype);
      expect(file.headers.get('content-length')).toBe(String(bytes.length));
      expect(sha256(file.bytes)).toBe(sent.sha256);
    }
  });

  it('answers byte ranges (206, Content-Range), refuses one past the end (416), and revalidates by ETag (304)', async () => {
    const bytes = randomBytes(50_000);
    const { stored } = await sendFile({ type: 'video', base64: bytes.toString('base64'), mimetype: 'video/mp4' });
    const part = await get(stored.media.url, { ...auth(), range: 'bytes=1000-1999' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1000-1999/${bytes.length}`);
    expect(part.bytes.equals(bytes.subarray(1000, 2000))).toBe(true);
    const tail = await get(stored.media.url, { ...auth(), range: 'bytes=-100' });
    expect(tail.status).toBe(206);
    expect(tail.bytes.equals(bytes.subarray(-100))).toBe(true);
    const past = await get(stored.media.url, { ...auth(), range: `bytes=${bytes.length}-` });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
    expect(errorOf(past).code).toBe('range_not_satisfiable');
    const whole = await get(stored.media.url, auth());
    const etag = whole.headers.get('etag')!;
    expect(etag).toBeTruthy();
    expect((await get(stored.media.url, { ...auth(), 'if-none-match': etag })).status).toBe(304);
  });

  it("is not another tenant's to read, nor anyone's without a credential", async () => {
    const { stored } = await sendFile({ type: 'sticker', base64: randomBytes(4000).toString('base64'), mimetype: 'image/webp' });
    const other = await newTenant('media-in-other');
    const res = await get(stored.media.url, { authorization: `Bearer ${other.apiKey}` });
    expect(res.status).toBe(404);
    expect(errorOf(res).code).toBe('connection_not_found');
    expect((await get(stored.media.url)).status).toBe(401);
    expectError(await t.api.get(`/api/media/${link.id}/NOSUCHMESSAGE`), 404, 'media_not_found');
  });

  it('the webhook carries a signed link that works without a key; a tampered or expired one is refused', async () => {
    const bytes = randomBytes(20_000);
    const { sent } = await sendFile({ type: 'image', base64: bytes.toString('base64') });
    const body = await eventually(async () => sink.at(hook.path).find((r) => r.json.provider_message_id === sent.id)?.json, 'the webhook');
    const media = body.data.media;
    expect(media).toMatchObject({ sha256: sent.sha256, size: bytes.length, reason: null });
    const signed = new URL(media.url);
    expect(signed.pathname).toBe(`/api/media/${link.id}/${sent.id}`);
    expect(Number(signed.searchParams.get('expires'))).toBeGreaterThan(Date.now() / 1000);
    const file = await get(media.url);
    expect(file.status).toBe(200);
    expect(sha256(file.bytes)).toBe(sent.sha256);
    // Ranges work through the link too.
    expect((await get(media.url, { range: 'bytes=0-9' })).bytes.equals(bytes.subarray(0, 10))).toBe(true);

    for (const [name, value] of [['expires', String(Number(signed.searchParams.get('expires')) + 3600)], ['signature', 'A'.repeat(43)], ['tenant', t.tenantId.replace(/.$/, (c) => (c === '0' ? '1' : '0'))]] as const) {
      const bent = new URL(signed);
      bent.searchParams.set(name, value);
      const res = await get(bent.toString());
      expect(res.status, name).toBe(403);
      expect(errorOf(res).code).toBe('invalid_signature');
    }
    // Another message of the same connection under the same signature: refused.
    const other = new URL(signed);
    other.pathname = `/api/media/${link.id}/SOMETHINGELSE`;
    expect((await get(other.toString())).status).toBe(403);
    // Well signed, but expired.
    const expired = await signLink(inject('mediaLinkKey'), { tenantId: t.tenantId, connectionId: link.id, messageId: sent.id }, Math.floor(Date.now() / 1000) - 1);
    const late = await get(`${signed.pathname}?${expired}`);
    expect(late.status).toBe(403);
    expect(errorOf(late).code).toBe('link_expired');
  });

  it('a file the media host no longer has is asked again from the phone (media retry), then downloaded', async () => {
    const bytes = randomBytes(30_000);
    const { sent, stored } = await sendFile({ type: 'image', base64: bytes.toString('base64'), expired: true });
    expect(stored.media).toMatchObject({ url: `/api/media/${link.id}/${sent.id}`, reason: null });
    const retries = await phone<{ id: string }[]>('GET', '/media-retries');
    expect(retries.map((r) => r.id)).toContain(sent.id);
    expect(sha256((await get(stored.media.url, auth())).bytes)).toBe(sha256(bytes));
  });

  it("deleting the connection deletes its files", async () => {
    const { stored } = await sendFile({ type: 'document', base64: randomBytes(1000).toString('base64'), fileName: 'a.txt', mimetype: 'text/plain' });
    expect((await get(stored.media.url, auth())).status).toBe(200);
    expect((await t.api.delete(`/api/connections/${link.id}`)).status).toBe(200);
    expect((await get(stored.media.url, auth())).status).toBe(404);
  });
});

describe("a tenant's media limit", () => {
  it('keeps only the metadata of a file over it, and says why', async () => {
    const t = await newTenant('media-in-limit');
    await database().insert(tenantLimits).values({ tenantId: t.tenantId, mediaInMaxBytes: 10_000 });
    const contact = phoneNumber();
    await phone('POST', '/contacts', { phone: contact, name: 'Carol' });
    const link = await linkedConnection(t);
    const big = randomBytes(10_001);
    const small = randomBytes(10_000);
    const bigSent = await phone('POST', `/contacts/${contact}/media`, { to: link.number, type: 'document', base64: big.toString('base64'), fileName: 'big.bin', mimetype: 'application/octet-stream' });
    const smallSent = await phone('POST', `/contacts/${contact}/media`, { to: link.number, type: 'document', base64: small.toString('base64'), fileName: 'small.bin', mimetype: 'application/octet-stream' });
    const stored = async (id: string) =>
      eventually(async () => ((await t.api.get(`/api/messages/${link.id}/${contact}`)).body as any[]).find((m) => m.provider_message_id === id && m.media), `${id} stored`);
    expect((await stored(bigSent.id)).media).toEqual({ mimetype: 'application/octet-stream', size: 10_001, filename: 'big.bin', sha256: sha256(big), url: null, reason: 'too_large' });
    expect((await stored(smallSent.id)).media).toMatchObject({ size: 10_000, reason: null, url: `/api/media/${link.id}/${smallSent.id}` });
    expectError(await call('GET', `/api/media/${link.id}/${bigSent.id}`, { key: t.apiKey }), 404, 'media_not_found');
    await t.api.delete(`/api/connections/${link.id}`);
  });
});

describe('a runner killed mid-download', () => {
  it('loses nothing: its message was never receipted, WhatsApp delivers it again and the next runner stores the file', async () => {
    await stopRunners();
    const first = await launchRunner();
    const t = await newTenant('media-in-kill');
    const contact = phoneNumber();
    await phone('POST', '/contacts', { phone: contact, name: 'Dan' });
    const link = await linkedConnection(t);
    const bytes = randomBytes(40_000);
    // The media host holds the first download of it: the runner is killed while it waits.
    const sent = await phone('POST', `/contacts/${contact}/media`, { to: link.number, type: 'image', base64: bytes.toString('base64'), stallMs: 60_000 });
    await eventually(async () => ((await phone<string[]>('GET', '/media/stalled')).includes(sent.path) ? true : undefined), 'the download to have begun');
    first.kill('SIGKILL');
    await launchRunner();
    const stored = await eventually(
      async () => ((await t.api.get(`/api/messages/${link.id}/${contact}`)).body as any[]).find((m) => m.provider_message_id === sent.id && m.media),
      'the message stored by the next runner',
      60_000,
    );
    expect(stored.media).toMatchObject({ sha256: sha256(bytes), url: `/api/media/${link.id}/${sent.id}`, reason: null });
    expect(sha256((await get(stored.media.url, { authorization: `Bearer ${t.apiKey}` })).bytes)).toBe(sha256(bytes));
    await t.api.delete(`/api/connections/${link.id}`);
  }, 90_000);
});

describe('the hand-over from runner to control plane (/internal/media-in)', () => {
  let holder: ProtocolRunner;
  let stranger: ProtocolRunner;
  let t: Tenant;
  let id: string;
  let lease: { pk: string; epoch: number };

  beforeAll(async () => {
    // Only runners reduced to their protocol from here: the connection's lease must go to `holder`.
    await stopRunners();
    holder = await ProtocolRunner.connect(`media-in-${randomUUID().slice(0, 6)}`);
    stranger = await ProtocolRunner.connect(`media-in-x-${randomUUID().slice(0, 6)}`);
    t = await newTenant('media-in-wire');
    id = uniqueId();
    lease = await connectedThrough(holder, t, id);
  });

  afterAll(async () => {
    await t.api.delete(`/api/connections/${id}`);
    holder.close();
    stranger.close();
  });

  const put = async (runner: ProtocolRunner, messageId: string, bytes: Buffer, o: { sha?: string; epoch?: number; size?: number } = {}) => {
    const url = new URL(`/internal/media-in/${lease.pk}/${messageId}`, baseUrl());
    url.searchParams.set('epoch', String(o.epoch ?? lease.epoch));
    const res = await fetch(url, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${await runnerToken(runner.id)}`,
        'x-media-mimetype': 'application/octet-stream',
        'x-media-size': String(o.size ?? bytes.length),
        'x-media-sha256': o.sha ?? sha256(bytes),
      },
      body: bytes,
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  it("keeps a file only when its bytes hash to the message's fileSha256", async () => {
    const bytes = randomBytes(5000);
    expect(await put(holder, 'WIRE1', bytes, { sha: sha256(randomBytes(10)) })).toMatchObject({ status: 422, body: { stored: false, reason: 'hash_mismatch' } });
    expectError(await t.api.get(`/api/media/${id}/WIRE1`), 404, 'media_not_found');
    expect(await put(holder, 'WIRE1', bytes)).toMatchObject({ status: 200, body: { stored: true } });
    const file = await get(`/api/media/${id}/WIRE1`, { authorization: `Bearer ${t.apiKey}` });
    expect(file.bytes.equals(bytes)).toBe(true);
  });

  it('takes files only from the lease holder at the current epoch, of the size announced', async () => {
    const bytes = randomBytes(100);
    expect((await put(stranger, 'WIRE2', bytes)).body.error.code).toBe('not_lease_holder');
    expect((await put(holder, 'WIRE2', bytes, { epoch: lease.epoch + 1 })).status).toBe(403);
    expect((await put(holder, 'WIRE2', bytes, { size: 99 })).body.error.code).toBe('validation_failed');
    expectError(await t.api.get(`/api/media/${id}/WIRE2`), 404, 'media_not_found');
  });
});
