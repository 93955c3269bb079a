// A GET bounded in time and size, with redirects followed by hand so that every hop can be judged: the
// Worker fetching a tenant's media URL (judged by the private-target policy) and a runner downloading a
// stored file (its token sent to the control plane only) share it. Runtime-neutral (fetch, URL, streams);
// failures are one typed error, which each side turns into its own.
import { readBounded } from './read-bounded';

export type BoundedFetchFailure = 'timeout' | 'network' | 'status' | 'redirects' | 'bad_redirect' | 'empty' | 'too_large';

export class BoundedFetchError extends Error {
  constructor(
    readonly reason: BoundedFetchFailure,
    /** The URL without its query (presigned URLs carry credentials there): safe to show. */
    readonly url: string,
    readonly status?: number,
    /** For network failures: the cause's code or message. */
    readonly detail?: string,
  ) {
    super(`${reason}: ${url}${status ? ` (${status})` : ''}${detail ? `: ${detail}` : ''}`);
  }
}

export interface BoundedFetchOptions {
  maxBytes: number;
  timeoutMs: number;
  /** Redirects followed (default 3). */
  maxRedirects?: number;
  /**
   * Called for the first URL and for every redirect target before it is fetched: throws to refuse it,
   * returns the headers to send to it.
   */
  prepare: (url: URL) => Record<string, string>;
  /** For tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

export interface BoundedFetchResult {
  bytes: Uint8Array;
  /** The URL the bytes came from, after redirects. */
  url: URL;
  status: number;
  contentType: string | null;
}

/** For messages: a URL without its query. */
export const shownUrl = (url: URL) => `${url.origin}${url.pathname}`;

export async function boundedFetch(start: URL, opts: BoundedFetchOptions): Promise<BoundedFetchResult> {
  const doFetch = opts.fetch ?? fetch;
  const maxRedirects = opts.maxRedirects ?? 3;
  const signal = AbortSignal.timeout(opts.timeoutMs);
  let url = start;
  for (let hop = 0; ; hop++) {
    const headers = opts.prepare(url);
    try {
      const res = await doFetch(url.toString(), { headers, redirect: 'manual', signal });
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        if (hop >= maxRedirects) throw new BoundedFetchError('redirects', shownUrl(url), res.status);
        try {
          url = new URL(location, url);
        } catch {
          throw new BoundedFetchError('bad_redirect', shownUrl(url), res.status);
        }
        continue;
      }
      if (res.status < 200 || res.status >= 300) {
        await res.body?.cancel();
        throw new BoundedFetchError('status', shownUrl(url), res.status);
      }
      const bytes = await readCapped(res, opts.maxBytes, url);
      if (bytes.byteLength === 0) throw new BoundedFetchError('empty', shownUrl(url), res.status);
      return { bytes, url, status: res.status, contentType: res.headers.get('content-type') };
    } catch (err) {
      if (err instanceof BoundedFetchError) throw err;
      if (signal.aborted) throw new BoundedFetchError('timeout', shownUrl(url));
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new BoundedFetchError('network', shownUrl(url), undefined, cause?.code ?? cause?.message ?? (err as Error).message);
    }
  }
}

/** The body, refused as soon as its declared or streamed size passes `maxBytes`. */
async function readCapped(res: Response, maxBytes: number, url: URL): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new BoundedFetchError('too_large', shownUrl(url), res.status);
  }
  if (!res.body) return new Uint8Array(0);
  const read = await readBounded(res.body, maxBytes);
  if ('over' in read) {
    await res.body.cancel().catch(() => {});
    throw new BoundedFetchError('too_large', shownUrl(url), res.status);
  }
  return read.bytes;
}
