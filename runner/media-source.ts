// Downloads the file of a media `send` from the URL the control plane gave (normally its own
// `/internal/media/<ref>`), before it goes to WhatsApp. The runner token goes only to the control plane:
// every hop (redirects are followed by hand) is checked against CONTROL_PLANE_URL by origin and path, so a
// redirect or a look-alike host never sees it. Bounded in size and time; failures are typed.

export type MediaSourceOptions = {
  controlPlaneUrl: string;
  token: string;
  maxBytes: number;
  timeoutMs: number;
};

export class MediaSourceError extends Error {
  constructor(readonly code: 'media_unavailable' | 'media_too_large', message: string) {
    super(message);
  }
}

const MAX_REDIRECTS = 3;

/** Whether `url` is under the control plane's base URL: same scheme, host and port, and path prefix. */
export const isControlPlaneUrl = (url: URL, controlPlaneUrl: string): boolean => {
  const base = new URL(controlPlaneUrl);
  if (url.origin !== base.origin || url.username || url.password) return false;
  const prefix = base.pathname.replace(/\/+$/, '');
  return prefix === '' || url.pathname === prefix || url.pathname.startsWith(`${prefix}/`);
};

/** For messages and logs: a URL without its query (presigned URLs carry credentials there). */
const shown = (url: URL) => `${url.origin}${url.pathname}`;

export const downloadMedia = async (source: string, opts: MediaSourceOptions): Promise<Buffer> => {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw new MediaSourceError('media_unavailable', 'media source is not a URL');
  }
  const signal = AbortSignal.timeout(opts.timeoutMs);
  try {
    for (let hop = 0; ; hop++) {
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new MediaSourceError('media_unavailable', `media source must be http(s), not ${url.protocol}`);
      const headers: Record<string, string> = isControlPlaneUrl(url, opts.controlPlaneUrl) ? { authorization: `Bearer ${opts.token}` } : {};
      const res = await fetch(url, { headers, redirect: 'manual', signal });
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        if (hop >= MAX_REDIRECTS) throw new MediaSourceError('media_unavailable', `too many redirects from ${shown(url)}`);
        url = new URL(location, url);
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new MediaSourceError('media_unavailable', `GET ${shown(url)} answered ${res.status}`);
      }
      return await readCapped(res, opts.maxBytes, url);
    }
  } catch (err) {
    if (err instanceof MediaSourceError) throw err;
    if (signal.aborted) throw new MediaSourceError('media_unavailable', `download of ${shown(url)} timed out after ${opts.timeoutMs} ms`);
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new MediaSourceError('media_unavailable', `GET ${shown(url)} failed: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
};

const readCapped = async (res: Response, maxBytes: number, url: URL): Promise<Buffer> => {
  const tooLarge = () => new MediaSourceError('media_too_large', `the file at ${shown(url)} is larger than ${maxBytes} bytes (MAX_MEDIA_BYTES)`);
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body?.getReader();
  for (;;) {
    const next = await reader?.read();
    if (!next || next.done) break;
    size += next.value.byteLength;
    if (size > maxBytes) {
      await reader!.cancel();
      throw tooLarge();
    }
    chunks.push(next.value);
  }
  if (size === 0) throw new MediaSourceError('media_unavailable', `the file at ${shown(url)} is empty`);
  return Buffer.concat(chunks, size);
};
