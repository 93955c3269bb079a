// Where the bytes of a media send come from: base64 in the request body, or a URL the Worker fetches itself.
// The Worker is the SSRF boundary: runners live in operators' networks, so a tenant's URL is never handed
// to one. It is judged by the outbound URL rules (./outbound-url.ts) with its own operator allowance,
// ALLOW_PRIVATE_MEDIA_SOURCES, every redirect hop is judged again, and the download is bounded in time and size.
import { Buffer } from 'node:buffer';
import { BoundedFetchError, boundedFetch, shownUrl } from '../../protocol/bounded-fetch';
import { ApiError } from '../http/errors';
import { checkOutboundUrl, parsePrivateTargetPolicy, type PrivateTargetPolicy } from './outbound-url';

export const DEFAULT_MAX_MEDIA_BYTES = 16 * 1024 * 1024;
/** Bound on a URL's whole download (headers and body). */
export const MEDIA_FETCH_TIMEOUT_MS = 30_000;

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

export const mediaSourcePolicy = (env: { ALLOW_PRIVATE_MEDIA_SOURCES?: string }) => parsePrivateTargetPolicy(env.ALLOW_PRIVATE_MEDIA_SOURCES);

/**
 * A URL as the policy accepts it, or a 400 `invalid_media_url` saying why not (`details.reason`: which
 * rule; `details.redirected_to` when it is a redirect's target that was refused).
 */
export function acceptMediaUrl(raw: string, policy: PrivateTargetPolicy, redirected = false): URL {
  const verdict = checkOutboundUrl(raw, policy);
  if (verdict.ok) return verdict.url;
  if (!redirected) throw new ApiError(400, 'invalid_media_url', `media.url refused: ${verdict.reason}.`, { reason: verdict.refusal });
  // The target parsed (boundedFetch made it a URL); shown without its query, which may carry credentials.
  const to = shownUrl(new URL(raw));
  throw new ApiError(400, 'invalid_media_url', `media.url redirected to ${to}, refused: ${verdict.reason}.`, { reason: verdict.refusal, redirected_to: to });
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

const unavailable = (message: string, details: Record<string, unknown>) => new ApiError(422, 'media_unavailable', message, details);

/** The API's answer for a failed download of a tenant's URL. */
function fetchFailure(e: BoundedFetchError, maxBytes: number, timeoutMs: number): ApiError {
  const at = { url: e.url };
  switch (e.reason) {
    case 'too_large':
      return tooLarge(maxBytes);
    case 'timeout':
      return unavailable(`Fetching ${e.url} timed out after ${timeoutMs} ms.`, at);
    case 'network':
      return unavailable(`Fetching ${e.url} failed: ${e.detail}.`, at);
    case 'status':
      return unavailable(`${e.url} answered ${e.status}.`, { ...at, status: e.status });
    case 'redirects':
      return unavailable(`Too many redirects from ${e.url}.`, { ...at, status: e.status });
    case 'bad_redirect':
      return unavailable(`${e.url} redirected to an invalid URL.`, { ...at, status: e.status });
    case 'empty':
      return unavailable(`${e.url} answered an empty file.`, { ...at, status: e.status });
  }
}

/**
 * Fetches a tenant's media URL: GET, redirects followed by hand (at most 3, each judged by the policy),
 * a non-2xx answer, a network error, a timeout or an empty body is a 422 `media_unavailable`; a declared
 * or streamed size over `maxBytes` a 413 `media_too_large`, refused as soon as it is known.
 */
export async function fetchMedia(raw: string, opts: FetchMediaOptions): Promise<FetchedMedia> {
  const timeoutMs = opts.timeoutMs ?? MEDIA_FETCH_TIMEOUT_MS;
  try {
    let hops = 0;
    const got = await boundedFetch(acceptMediaUrl(raw, opts.policy), {
      maxBytes: opts.maxBytes,
      timeoutMs,
      // Every redirect's target is judged by the policy too (acceptMediaUrl throws the 400).
      prepare: (url) => {
        if (hops++ > 0) acceptMediaUrl(url.toString(), opts.policy, true);
        return { accept: '*/*', 'user-agent': 'Switchboard-Media/1.0' };
      },
      fetch: opts.fetch,
    });
    return { bytes: got.bytes, contentType: got.contentType, name: lastSegment(got.url) };
  } catch (e) {
    throw e instanceof BoundedFetchError ? fetchFailure(e, opts.maxBytes, timeoutMs) : e;
  }
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
