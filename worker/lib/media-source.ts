// Where the bytes of a media send come from: base64 in the request body, or a URL the Worker fetches itself.
// The Worker is the SSRF boundary: runners live in operators' networks, so a tenant's URL is never handed
// to one. It is judged by the webhook URL policy (http(s), no private targets unless the operator allows
// them), every redirect hop is judged again, and the download is bounded in time and size.
import { Buffer } from 'node:buffer';
import { ApiError } from '../http/errors';
import { checkWebhookUrl, type PrivateTargetPolicy } from './webhook-url';

export const DEFAULT_MAX_MEDIA_BYTES = 16 * 1024 * 1024;
/** Bound on a URL's whole download (headers and body). */
export const MEDIA_FETCH_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 3;

export const maxMediaBytes = (env: { MAX_MEDIA_BYTES?: string }) => Number(env.MAX_MEDIA_BYTES) || DEFAULT_MAX_MEDIA_BYTES;

/** Characters of base64 (padded) that `bytes` bytes take. */
export const base64Length = (bytes: number) => Math.ceil(bytes / 3) * 4;

const tooLarge = (maxBytes: number) => new ApiError(413, 'media_too_large', `The media file is larger than ${maxBytes} bytes (MAX_MEDIA_BYTES).`);

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const WHITESPACE = /[\t\n\r ]/;
const URL_SAFE = /[-_]/;

/**
 * Decodes base64 (standard or URL-safe alphabet, padding optional, line breaks and spaces ignored);
 * undefined when it is not base64. Buffer's own decoder skips bad characters silently, hence the check.
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  // Bodies run to tens of megabytes: the text is copied only when whitespace or the URL-safe alphabet needs it.
  let compact = WHITESPACE.test(text) ? text.replace(/[\t\n\r ]+/g, '') : text;
  if (!BASE64.test(compact)) return undefined;
  if (URL_SAFE.test(compact)) compact = compact.replace(/-/g, '+').replace(/_/g, '/');
  let end = compact.length;
  while (end > 0 && compact.charCodeAt(end - 1) === 0x3d /* = */) end--;
  if (end % 4 === 1) return undefined;
  if (end !== compact.length && compact.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(compact, 'base64');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The body's base64 as bytes, within the limit; a 400 or 413 otherwise. */
export function mediaFromBase64(text: string, maxBytes: number): Uint8Array {
  // Cheap bound first: decoding cannot shrink this much text below the limit.
  if (Math.floor((text.length * 3) / 4) > maxBytes + 3 && !WHITESPACE.test(text)) throw tooLarge(maxBytes);
  const bytes = decodeBase64(text);
  if (!bytes) {
    throw new ApiError(400, 'validation_failed', 'Invalid json: media.base64: not valid base64', {
      target: 'json',
      issues: [{ path: 'media.base64', message: 'not valid base64' }],
    });
  }
  if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
  if (bytes.byteLength === 0) {
    throw new ApiError(400, 'validation_failed', 'Invalid json: media.base64: the file is empty', {
      target: 'json',
      issues: [{ path: 'media.base64', message: 'the file is empty' }],
    });
  }
  return bytes;
}

/** A URL as the policy accepts it, or a 400 `invalid_media_url` saying why not. */
export function acceptMediaUrl(raw: string, policy: PrivateTargetPolicy): URL {
  const verdict = checkWebhookUrl(raw, policy);
  if (!verdict.ok) throw new ApiError(400, 'invalid_media_url', `media.url refused: ${verdict.reason}.`);
  return new URL(verdict.url);
}

export interface FetchedMedia {
  bytes: Uint8Array;
  /** The server's Content-Type, if any. */
  contentType: string | null;
  /** The last path segment of the final URL (decoded), a hint for the file name and mimetype. */
  name: string | null;
}

export interface FetchMediaOptions {
  policy: PrivateTargetPolicy;
  maxBytes: number;
  timeoutMs?: number;
  /** For tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/** For messages: a URL without its query (presigned URLs carry credentials there). */
const shown = (url: URL) => `${url.origin}${url.pathname}`;

const unavailable = (message: string, details: Record<string, unknown>) => new ApiError(422, 'media_unavailable', message, details);

/**
 * Fetches a tenant's media URL: GET, redirects followed by hand (at most 3, each judged by the policy),
 * a non-2xx answer, a network error, a timeout or an empty body is a 422 `media_unavailable`; a declared
 * or streamed size over `maxBytes` a 413 `media_too_large`, refused as soon as it is known.
 */
export async function fetchMedia(raw: string, opts: FetchMediaOptions): Promise<FetchedMedia> {
  const doFetch = opts.fetch ?? fetch;
  const timeoutMs = opts.timeoutMs ?? MEDIA_FETCH_TIMEOUT_MS;
  let url = acceptMediaUrl(raw, opts.policy);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    for (let hop = 0; ; hop++) {
      let res: Response;
      try {
        res = await doFetch(url.toString(), {
          redirect: 'manual',
          signal: controller.signal,
          headers: { accept: '*/*', 'user-agent': 'Switchboard-Media/1.0' },
        });
      } catch (e) {
        throw controller.signal.aborted
          ? unavailable(`Fetching ${shown(url)} timed out after ${timeoutMs} ms.`, { url: shown(url) })
          : unavailable(`Fetching ${shown(url)} failed: ${e instanceof Error ? e.message : String(e)}.`, { url: shown(url) });
      }
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        if (hop >= MAX_REDIRECTS) throw unavailable(`Too many redirects from ${shown(url)}.`, { url: shown(url), status: res.status });
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw unavailable(`${shown(url)} redirected to an invalid URL.`, { url: shown(url), status: res.status });
        }
        url = acceptMediaUrl(next.toString(), opts.policy);
        continue;
      }
      if (res.status < 200 || res.status >= 300) {
        await res.body?.cancel();
        throw unavailable(`${shown(url)} answered ${res.status}.`, { url: shown(url), status: res.status });
      }
      const bytes = await readCapped(res, opts.maxBytes, () =>
        controller.signal.aborted ? unavailable(`Fetching ${shown(url)} timed out after ${timeoutMs} ms.`, { url: shown(url) }) : undefined,
      );
      if (bytes.byteLength === 0) throw unavailable(`${shown(url)} answered an empty file.`, { url: shown(url), status: res.status });
      return { bytes, contentType: res.headers.get('content-type'), name: lastSegment(url) };
    }
  } finally {
    clearTimeout(timer);
  }
}

async function readCapped(res: Response, maxBytes: number, timedOut: () => ApiError | undefined): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw tooLarge(maxBytes);
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw timedOut() ?? unavailable(`Reading the media file failed: ${e instanceof Error ? e.message : String(e)}.`, {});
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function lastSegment(url: URL): string | null {
  const segment = url.pathname.split('/').pop();
  if (!segment) return null;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
