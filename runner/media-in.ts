// Received media: each incoming image, video, audio, document or sticker is downloaded as it arrives (Baileys'
// downloadMediaMessage, a stream) and streamed on to the control plane (PUT /internal/media-in/<pk>/<id>),
// which puts it in R2 after checking its SHA-256 against the message's fileSha256. Nothing is buffered whole.
//
// The message event waits for this (bounded by MEDIA_DOWNLOAD_TIMEOUT_MS), so a stored message's file is
// already stored, and the message's delivery receipt (receipt-gate.ts) waits with it: a runner that dies
// mid-download has not receipted the message, so WhatsApp delivers it again to the next holder, which downloads
// it again (the Worker's row and R2 object are keyed by message id: idempotent).
//
// Over the tenant's limit (learnt from the control plane, cached a minute), or when the download fails, the
// control plane is told so (`?reason=`) and the message keeps its metadata only. A file the media server no
// longer has (404/410: an expired media key) is asked again from the phone (Baileys' media retry:
// sock.updateMediaMessage and the `messages.media-update` answer), then downloaded from where it now is.
import { downloadMediaMessage, normalizeMessageContent, type WAMessage, type WASocket } from '@whiskeysockets/baileys';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { MediaInReason } from '../protocol/runner.js';

const MEDIA_FIELDS = ['imageMessage', 'videoMessage', 'audioMessage', 'documentMessage', 'stickerMessage'] as const;
/** The control plane refuses bodies over 100 MB: a runner never sends more than this, whatever it is told. */
export const MEDIA_IN_CEILING_BYTES = 95 * 1024 * 1024;
const LIMIT_TTL_MS = 60_000;
/** The media host no longer has the file (an expired media key): only the sender's phone can bring it back. */
const REUPLOAD_STATUSES = new Set([404, 410]);
const statusOf = (err: unknown): number | undefined => {
  const e = err as { output?: { statusCode?: number }; status?: number; statusCode?: number } | undefined;
  return e?.output?.statusCode ?? e?.status ?? e?.statusCode;
};

/** The bytes are not the file the message names (a corrupt blob, or a sender that lied about fileSha256). */
class HashMismatch extends Error {}

export type IncomingFile = { mimetype: string; size: number; filename: string | null; sha256: string };

/** The file a received message carries, as its message describes it; null for messages without one (or without a hash to check). */
export const incomingFileOf = (msg: WAMessage): IncomingFile | null => {
  if (msg.key?.fromMe) return null;
  const content = normalizeMessageContent(msg.message);
  if (!content) return null;
  for (const field of MEDIA_FIELDS) {
    const m = content[field] as
      | { mimetype?: string | null; fileLength?: number | { toNumber(): number } | null; fileSha256?: Uint8Array | null; fileName?: string | null; url?: string | null; directPath?: string | null; mediaKey?: Uint8Array | null }
      | null
      | undefined;
    if (!m) continue;
    if (!m.fileSha256 || m.fileSha256.length !== 32 || !m.mediaKey?.length || !(m.url || m.directPath)) return null;
    const size = m.fileLength == null ? NaN : typeof m.fileLength === 'number' ? m.fileLength : m.fileLength.toNumber();
    return {
      mimetype: (m.mimetype || 'application/octet-stream').slice(0, 255),
      size: Number.isSafeInteger(size) && size >= 0 ? size : -1,
      filename: field === 'documentMessage' && m.fileName ? m.fileName.slice(0, 1024) : null,
      sha256: Buffer.from(m.fileSha256).toString('hex'),
    };
  }
  return null;
};

export type IncomingMediaOptions = {
  controlPlaneUrl: string;
  token: string;
  /** Whole download + upload, per file. */
  timeoutMs: number;
  /** Used when the control plane cannot be asked the tenant's limit. */
  fallbackMaxBytes: number;
  /** The undici dispatcher Baileys' downloads go through (WA_MEDIA_CA in the sandbox). */
  fetchOptions?: RequestInit;
  logger: Logger;
};

export type IncomingMediaOutcome = { stored: true } | { stored: false; reason: MediaInReason };

export class IncomingMedia {
  private limits = new Map<string, { max: number; at: number }>();

  constructor(private readonly opts: IncomingMediaOptions) {}

  /** Downloads the file of `msg` and hands it to the control plane; never throws. */
  async receive(msg: WAMessage, sock: WASocket, lease: { pk: string; epoch: number }): Promise<IncomingMediaOutcome | null> {
    const file = incomingFileOf(msg);
    const id = msg.key.id;
    if (!file || !id) return null;
    const log = this.opts.logger.child({ connection_pk: lease.pk, message_id: id });
    const deadline = AbortSignal.timeout(this.opts.timeoutMs);
    try {
      const max = await this.limitOf(lease);
      if (file.size < 0 || file.size > max) return await this.report(lease, id, file, 'too_large');
      const download = (m: WAMessage) => downloadMediaMessage(m, 'stream', { options: this.opts.fetchOptions } as never) as Promise<Readable>;
      let stream: Readable;
      try {
        stream = await within(download(msg), deadline);
      } catch (err) {
        // Baileys' own reupload fallback looks for `error.status`, which its Boom errors do not set (rc14):
        // the media retry is asked here. The phone uploads the file again; updateMediaMessage points msg at it.
        if (!REUPLOAD_STATUSES.has(statusOf(err) ?? 0)) throw err;
        log.info({ status: statusOf(err) }, 'received media gone from the media host: asking the phone again (media retry)');
        // The new URL is built on the media host Baileys learnt from media_conn (mmg.whatsapp.net until it asked).
        await within(sock.refreshMediaConn(false), deadline);
        const updated = await within(sock.updateMediaMessage(msg), deadline);
        stream = await within(download(updated), deadline);
      }
      const answer = await this.upload(lease, id, file, stream, deadline);
      if (answer.status === 200 && answer.body.stored) return { stored: true };
      log.warn({ status: answer.status, reason: answer.body.reason }, 'received media not stored');
      return { stored: false, reason: (answer.body.reason as MediaInReason) ?? 'unavailable' };
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'received media download failed: metadata only');
      const reason: MediaInReason = err instanceof HashMismatch ? 'hash_mismatch' : 'download_failed';
      return await this.report(lease, id, file, reason).catch(() => ({ stored: false, reason }) as const);
    }
  }

  private async limitOf(lease: { pk: string; epoch: number }): Promise<number> {
    const cached = this.limits.get(lease.pk);
    if (cached && Date.now() - cached.at < LIMIT_TTL_MS) return cached.max;
    let max = this.opts.fallbackMaxBytes;
    try {
      const res = await fetch(this.url(`/internal/media-in/${lease.pk}/limit`, { epoch: String(lease.epoch) }), {
        headers: { authorization: `Bearer ${this.opts.token}` },
        signal: AbortSignal.timeout(10_000),
      });
      if (res.ok) max = Number(((await res.json()) as { max_bytes: number }).max_bytes);
    } catch {
      // The fallback holds; the control plane re-checks on upload anyway.
    }
    max = Math.min(max, MEDIA_IN_CEILING_BYTES);
    this.limits.set(lease.pk, { max, at: Date.now() });
    return max;
  }

  private url(path: string, query: Record<string, string>): URL {
    const u = new URL(this.opts.controlPlaneUrl.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
    return u;
  }

  private headers(file: IncomingFile): Record<string, string> {
    return {
      authorization: `Bearer ${this.opts.token}`,
      'x-media-mimetype': file.mimetype,
      'x-media-size': String(Math.max(file.size, 0)),
      'x-media-sha256': file.sha256,
      ...(file.filename ? { 'x-media-filename': encodeURIComponent(file.filename) } : {}),
    };
  }

  private async report(lease: { pk: string; epoch: number }, id: string, file: IncomingFile, reason: MediaInReason): Promise<IncomingMediaOutcome> {
    const res = await fetch(this.url(`/internal/media-in/${lease.pk}/${encodeURIComponent(id)}`, { epoch: String(lease.epoch), reason }), {
      method: 'PUT',
      headers: this.headers(file),
      signal: AbortSignal.timeout(10_000),
    });
    await res.body?.cancel();
    return { stored: false, reason };
  }

  /** PUT with the exact Content-Length the message states: the bytes stream through, counted, never held whole. */
  private upload(lease: { pk: string; epoch: number }, id: string, file: IncomingFile, source: Readable, signal: AbortSignal) {
    const url = this.url(`/internal/media-in/${lease.pk}/${encodeURIComponent(id)}`, { epoch: String(lease.epoch) });
    return new Promise<{ status: number; body: { stored?: boolean; reason?: string | null } }>((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, { method: 'PUT', headers: { ...this.headers(file), 'content-type': 'application/octet-stream', 'content-length': String(file.size) }, signal }, res => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.length < 64 && chunks.push(c));
        res.on('end', () => {
          let body = {};
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            // not JSON: judged by its status
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      let seen = 0;
      const hash = createHash('sha256');
      const count = new Transform({
        transform(chunk: Buffer, _enc, done) {
          seen += chunk.length;
          if (seen > file.size) return done(new Error(`the file is larger than the ${file.size} bytes its message states`));
          hash.update(chunk);
          done(null, chunk);
        },
        flush(done) {
          if (seen !== file.size) return done(new Error(`the file has ${seen} bytes, its message states ${file.size}`));
          // Baileys does not check the plaintext against fileSha256; R2 will, but a mismatch known here saves the upload's end.
          if (hash.digest('hex') !== file.sha256) return done(new HashMismatch('the file does not match the fileSha256 its message states'));
          done();
        },
      });
      pipeline(source, count, req).catch(err => {
        req.destroy(err as Error);
        reject(err);
      });
    });
  }
}

const within = <T>(p: Promise<T>, signal: AbortSignal): Promise<T> =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('timed out'));
    const onAbort = () => reject(new Error('timed out'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      v => (signal.removeEventListener('abort', onAbort), resolve(v)),
      e => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
