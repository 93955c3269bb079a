// WhatsApp's media hosts, emulated: the `media_conn` answer (auth token + host), an HTTPS server that
// takes Baileys' encrypted uploads (POST /mms/<type>/<fileEncSha256>?auth=…&token=…, answered with
// { url, direct_path }) and serves them back (GET <direct_path>, with Range), and the contacts' side:
// fetch a message's blob, check its MAC and hashes, decrypt it with the media key.
// Blobs live in memory only, bounded (oldest evicted first); they do not survive a restart.
import { getMediaKeys, type proto } from '@whiskeysockets/baileys';
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { issueServerCertificate, type MediaCa } from './media-ca.js';

export const MEDIA_TYPES = {
  imageMessage: 'image',
  videoMessage: 'video',
  audioMessage: 'audio',
  documentMessage: 'document',
  stickerMessage: 'sticker',
} as const;
export type MediaKind = (typeof MEDIA_TYPES)[keyof typeof MEDIA_TYPES];

/** What a contact's inbox shows about a media message it received. */
export type InboxMedia = {
  type: MediaKind;
  mimetype: string | null;
  caption: string | null;
  fileName: string | null;
  ptt?: boolean;
  /** Decrypted size in bytes; the declared fileLength when the blob could not be opened. */
  size: number | null;
  /** True when the blob was found, its MAC and fileEncSha256 matched, and the plaintext matched fileSha256. */
  sha256: boolean;
  /** Why sha256 is false. */
  error?: string;
};

export type StoredBlob = { path: string; mediaType: string; encSha256: string; bytes: Buffer; uploadedAt: number };

export const DEFAULT_MEDIA_STORE_BYTES = 256 * 1024 * 1024;
/** Advertised in media_conn (maxContentLengthBytes) and enforced on upload. */
export const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;
const UPLOAD_PATH = /^\/(?:mms|product|pps)\/([\w-]+)\/([A-Za-z0-9_-]{43})$/;

const b64url = (b: Buffer) => b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

export class MediaStore {
  /** The upload auth token handed out in media_conn (one per emulator start). */
  readonly auth = b64url(randomBytes(24));
  /** host[:port] of the media server, as Baileys puts it after https:// (empty until it listens). */
  host = '';
  private blobs = new Map<string, StoredBlob>();
  private bytes = 0;
  /** Blobs the `expire-media` fault took off the host: the sender's phone still has them (media retry re-uploads). */
  private expired = new Map<string, StoredBlob>();
  /** One-shot stalls (a fault): the next GET of a path waits this long before answering. */
  readonly stalls = new Map<string, number>();
  /** Paths whose stalled GET has begun. */
  readonly stalledHits: string[] = [];
  /** What contacts sent, by message id: what their phone needs to answer a media retry request. */
  private readonly sentByContacts = new Map<string, { path: string; mediaKey: Buffer; sender: string }>();

  constructor(readonly maxBytes = DEFAULT_MEDIA_STORE_BYTES) {}

  get size() {
    return { count: this.blobs.size, bytes: this.bytes, maxBytes: this.maxBytes };
  }

  put(mediaType: string, encSha256: string, bytes: Buffer): StoredBlob {
    while (this.bytes + bytes.length > this.maxBytes && this.blobs.size) this.evictOldest();
    const path = `/v/t62.7118-24/emu_${b64url(randomBytes(12))}.enc`;
    const blob: StoredBlob = { path, mediaType, encSha256, bytes, uploadedAt: Date.now() };
    this.blobs.set(path, blob);
    this.bytes += bytes.length;
    return blob;
  }

  /** By direct path or full URL (query ignored). */
  get(pathOrUrl: string | null | undefined): StoredBlob | undefined {
    if (!pathOrUrl) return undefined;
    const path = pathOrUrl.startsWith('/') ? pathOrUrl.split('?')[0]! : safePath(pathOrUrl);
    return path ? this.blobs.get(path) : undefined;
  }

  rememberSent(id: string, sent: { path: string; mediaKey: Buffer; sender: string }) {
    this.sentByContacts.set(id, sent);
    if (this.sentByContacts.size > 10_000) this.sentByContacts.delete(this.sentByContacts.keys().next().value!);
  }

  sentBy(id: string) {
    return this.sentByContacts.get(id);
  }

  /** Fault: the media host no longer has this blob (an expired media key); GET answers 404 from now on. */
  expire(path: string): boolean {
    const blob = this.blobs.get(path);
    if (!blob) return false;
    this.blobs.delete(path);
    this.bytes -= blob.bytes.length;
    this.expired.set(path, blob);
    return true;
  }

  /** The sender's phone uploads the file again (a media retry): the same blob under a new path. */
  reupload(path: string): StoredBlob | undefined {
    const blob = this.expired.get(path) ?? this.blobs.get(path);
    if (!blob) return undefined;
    this.expired.delete(path);
    return this.put(blob.mediaType, blob.encSha256, blob.bytes);
  }

  list() {
    return [...this.blobs.values()].map(({ bytes, ...b }) => ({ ...b, size: bytes.length }));
  }

  clear() {
    this.stalls.clear();
    this.stalledHits.length = 0;
    this.blobs.clear();
    this.expired.clear();
    this.sentByContacts.clear();
    this.bytes = 0;
  }

  private evictOldest() {
    const [path, blob] = this.blobs.entries().next().value!;
    this.blobs.delete(path);
    this.bytes -= blob.bytes.length;
  }
}

const safePath = (url: string) => {
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
};

/** The <media_conn> Baileys asks for before an upload (`<iq xmlns="w:m" type="set"><media_conn/></iq>`). */
export const mediaConnNode = (store: MediaStore) => ({
  tag: 'media_conn',
  attrs: { auth: store.auth, ttl: '300', auth_ttl: '21600', max_buckets: '12' },
  content: [{ tag: 'host', attrs: { hostname: store.host || 'media.emulator.invalid', maxContentLengthBytes: String(MAX_UPLOAD_BYTES) } }],
});

// --- HTTPS server ------------------------------------------------------------------------------------

export type MediaServer = { url: string; host: string; close(): Promise<void> };

/** Starts the media host on `host:port` with a certificate from `ca`, and points the store at it. */
export const startMediaServer = async (store: MediaStore, opts: { ca: MediaCa; host: string; port?: number }): Promise<MediaServer> => {
  const advertised = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  const cert = issueServerCertificate(opts.ca, [advertised, 'localhost', '127.0.0.1', '::1']);
  const server: Server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    void handle(store, req, res).catch(err => json(res, 500, { error: { code: 500, message: (err as Error).message } }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  store.host = `${advertised.includes(':') ? `[${advertised}]` : advertised}:${port}`;
  return {
    url: `https://${store.host}`,
    host: store.host,
    async close() {
      server.closeAllConnections();
      await new Promise<void>(resolve => server.close(() => resolve()));
    },
  };
};

const json = (res: ServerResponse, status: number, body: unknown) => {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

const readBody = (req: IncomingMessage, max: number): Promise<Buffer | undefined> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        resolve(undefined);
        req.resume();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(size > max ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });

const handle = async (store: MediaStore, req: IncomingMessage, res: ServerResponse) => {
  const url = new URL(req.url ?? '/', 'https://media');
  if (req.method === 'POST') {
    const m = UPLOAD_PATH.exec(url.pathname);
    if (!m) return json(res, 404, { error: { code: 404, message: 'no such upload path' } });
    const [, mediaType, token] = m as unknown as [string, string, string];
    if (url.searchParams.get('auth') !== store.auth) return json(res, 401, { error: { code: 401, message: 'bad media auth token' } });
    const body = await readBody(req, Math.min(MAX_UPLOAD_BYTES, store.maxBytes));
    if (!body) return json(res, 413, { error: { code: 413, message: 'too large' } });
    // The path names the SHA-256 of the encrypted file: the server checks it, as WhatsApp's does.
    if (b64url(createHash('sha256').update(body).digest()) !== token) return json(res, 400, { error: { code: 400, message: 'fileEncSha256 mismatch' } });
    const blob = store.put(mediaType, token, body);
    const query = `ccb=11-4&oh=${b64url(randomBytes(16))}&oe=${(Math.floor(Date.now() / 1000) + 30 * 86_400).toString(16).toUpperCase()}`;
    return json(res, 200, { url: `https://${store.host}${blob.path}?${query}&mms3=true`, direct_path: `${blob.path}?${query}`, ts: Math.floor(blob.uploadedAt / 1000) });
  }
  if (req.method === 'GET' || req.method === 'HEAD') {
    const stall = store.stalls.get(url.pathname);
    if (stall !== undefined) {
      store.stalls.delete(url.pathname);
      store.stalledHits.push(url.pathname);
      // Ends early when the client goes away (a killed gateway), and never holds the process open.
      await new Promise<void>(r => {
        const timer = setTimeout(r, stall);
        timer.unref();
        req.once('close', () => (clearTimeout(timer), r()));
      });
      if (req.destroyed) return;
    }
    const blob = store.get(url.pathname);
    if (!blob) return json(res, 404, { error: { code: 404, message: 'no such media' } });
    const total = blob.bytes.length;
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    let start = 0;
    let end = total - 1;
    if (range && (range[1] || range[2])) {
      if (range[1]) {
        start = Number(range[1]);
        if (range[2]) end = Math.min(Number(range[2]), total - 1);
      } else start = Math.max(0, total - Number(range[2]));
      if (start > end || start >= total) {
        res.writeHead(416, { 'content-range': `bytes */${total}` });
        return void res.end();
      }
    }
    const partial = start !== 0 || end !== total - 1;
    res.writeHead(partial ? 206 : 200, {
      'content-type': 'application/octet-stream',
      'content-length': String(end - start + 1),
      'accept-ranges': 'bytes',
      ...(partial ? { 'content-range': `bytes ${start}-${end}/${total}` } : {}),
    });
    return void res.end(req.method === 'HEAD' ? undefined : blob.bytes.subarray(start, end + 1));
  }
  json(res, 405, { error: { code: 405, message: 'method not allowed' } });
};

// --- the receiving side -----------------------------------------------------------------------------

type MediaContent = {
  url?: string | null;
  directPath?: string | null;
  mediaKey?: Uint8Array | null;
  fileSha256?: Uint8Array | null;
  fileEncSha256?: Uint8Array | null;
  fileLength?: number | Long | null;
  mimetype?: string | null;
  caption?: string | null;
  fileName?: string | null;
  ptt?: boolean | null;
};
type Long = { toNumber(): number };

/** The media part of a message (also inside a documentWithCaption wrapper), if any. */
export const mediaOf = (message: proto.IMessage): { type: MediaKind; content: MediaContent } | undefined => {
  const inner = message.documentWithCaptionMessage?.message ?? message;
  for (const [field, type] of Object.entries(MEDIA_TYPES)) {
    const content = (inner as Record<string, unknown>)[field] as MediaContent | null | undefined;
    if (content) return { type, content };
  }
  return undefined;
};

/** Fetches, verifies and decrypts a media blob (WhatsApp media crypto: HKDF → AES-256-CBC + 10-byte HMAC). */
export const decryptMedia = async (store: MediaStore, type: MediaKind, content: MediaContent): Promise<Buffer> => {
  const blob = store.get(content.directPath) ?? store.get(content.url);
  if (!blob) throw new Error('media not found on the media host');
  if (!content.mediaKey?.length) throw new Error('no mediaKey');
  const enc = blob.bytes;
  if (enc.length < 10 + 16) throw new Error('blob too short');
  if (content.fileEncSha256 && !sameBytes(createHash('sha256').update(enc).digest(), content.fileEncSha256)) throw new Error('fileEncSha256 mismatch');
  const { iv, cipherKey, macKey } = await getMediaKeys(content.mediaKey, type);
  const body = enc.subarray(0, -10);
  const mac = createHmac('sha256', macKey!).update(iv).update(body).digest().subarray(0, 10);
  if (!sameBytes(mac, enc.subarray(-10))) throw new Error('media MAC mismatch');
  const decipher = createDecipheriv('aes-256-cbc', cipherKey, iv);
  const plain = Buffer.concat([decipher.update(body), decipher.final()]);
  if (!content.fileSha256 || !sameBytes(createHash('sha256').update(plain).digest(), content.fileSha256)) throw new Error('fileSha256 mismatch');
  return plain;
};

/** What the inbox shows for a received message's media (undefined for messages without media). */
export const inspectMedia = async (store: MediaStore, message: proto.IMessage): Promise<InboxMedia | undefined> => {
  const found = mediaOf(message);
  if (!found) return undefined;
  const { type, content } = found;
  const declared = content.fileLength == null ? null : typeof content.fileLength === 'number' ? content.fileLength : content.fileLength.toNumber();
  const base = {
    type,
    mimetype: content.mimetype ?? null,
    caption: content.caption ?? null,
    fileName: content.fileName ?? null,
    ...(type === 'audio' ? { ptt: !!content.ptt } : {}),
  };
  try {
    const plain = await decryptMedia(store, type, content);
    return { ...base, size: plain.length, sha256: true };
  } catch (err) {
    return { ...base, size: declared, sha256: false, error: (err as Error).message };
  }
};

/** Encrypts a file as a WhatsApp client does before uploading it (tests use it to forge blobs). */
export const encryptMedia = async (plain: Buffer, type: MediaKind) => {
  const mediaKey = randomBytes(32);
  const { iv, cipherKey, macKey } = await getMediaKeys(mediaKey, type);
  const cipher = createCipheriv('aes-256-cbc', cipherKey, iv);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  const mac = createHmac('sha256', macKey!).update(iv).update(body).digest().subarray(0, 10);
  const enc = Buffer.concat([body, mac]);
  return { mediaKey, enc, fileSha256: createHash('sha256').update(plain).digest(), fileEncSha256: createHash('sha256').update(enc).digest() };
};

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && timingSafeEqual(a, b);
