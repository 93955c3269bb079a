// Downloads the file of a media `send` from the control plane (its `/internal/media/<ref>`), before it goes
// to WhatsApp. Runners live in operators' networks, so they fetch nothing else: every hop (redirects are
// followed by hand) must be under CONTROL_PLANE_URL by origin and path, or the download is refused before
// anything is sent there. A tenant's own URL is fetched by the Worker (worker/lib/media-source.ts), never by
// a runner; the runner token goes with every request, which is therefore always to the control plane.
// Bounded in size and time; failures are typed.

import { BoundedFetchError, boundedFetch, shownUrl } from '../protocol/bounded-fetch.js';

export type MediaSourceOptions = {
  controlPlaneUrl: string;
  token: string;
  /**
   * The epoch of the lease the send runs under: added (`?epoch=`) to a URL under the control plane, which
   * hands a send's file only to the runner holding that connection's lease at that epoch.
   */
  epoch?: number;
  maxBytes: number;
  timeoutMs: number;
};

export class MediaSourceError extends Error {
  constructor(readonly code: 'media_unavailable' | 'media_too_large', message: string) {
    super(message);
  }
}

/** Whether `url` is under the control plane's base URL: same scheme, host and port, and path prefix. */
export const isControlPlaneUrl = (url: URL, controlPlaneUrl: string): boolean => {
  const base = new URL(controlPlaneUrl);
  if (url.origin !== base.origin || url.username || url.password) return false;
  const prefix = base.pathname.replace(/\/+$/, '');
  return prefix === '' || url.pathname === prefix || url.pathname.startsWith(`${prefix}/`);
};

const failure = (e: BoundedFetchError, opts: MediaSourceOptions): MediaSourceError => {
  switch (e.reason) {
    case 'too_large':
      return new MediaSourceError('media_too_large', `the file at ${e.url} is larger than ${opts.maxBytes} bytes (MAX_MEDIA_BYTES)`);
    case 'timeout':
      return new MediaSourceError('media_unavailable', `download of ${e.url} timed out after ${opts.timeoutMs} ms`);
    case 'status':
      return new MediaSourceError('media_unavailable', `GET ${e.url} answered ${e.status}`);
    case 'redirects':
      return new MediaSourceError('media_unavailable', `too many redirects from ${e.url}`);
    case 'empty':
      return new MediaSourceError('media_unavailable', `the file at ${e.url} is empty`);
    case 'bad_redirect':
      return new MediaSourceError('media_unavailable', `GET ${e.url} redirected to an invalid URL`);
    case 'network':
      return new MediaSourceError('media_unavailable', `GET ${e.url} failed: ${e.detail}`);
  }
};

export const downloadMedia = async (source: string, opts: MediaSourceOptions): Promise<Buffer> => {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw new MediaSourceError('media_unavailable', 'media source is not a URL');
  }
  if (opts.epoch !== undefined && isControlPlaneUrl(url, opts.controlPlaneUrl)) url.searchParams.set('epoch', String(opts.epoch));
  try {
    const { bytes } = await boundedFetch(url, {
      maxBytes: opts.maxBytes,
      timeoutMs: opts.timeoutMs,
      prepare: (hop): Record<string, string> => {
        if (!isControlPlaneUrl(hop, opts.controlPlaneUrl)) {
          const where = /^https?:$/.test(hop.protocol) ? shownUrl(hop) : `a ${hop.protocol.replace(':', '')} URL`;
          throw new MediaSourceError('media_unavailable', `${where} is not under CONTROL_PLANE_URL: a runner downloads media only from the control plane`);
        }
        return { authorization: `Bearer ${opts.token}` };
      },
    });
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (err) {
    throw err instanceof BoundedFetchError ? failure(err, opts) : err;
  }
};
