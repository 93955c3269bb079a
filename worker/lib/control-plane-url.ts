// The base of the links the Worker hands runners (a media send's file: `<base>/internal/media/…`): the
// Worker's CONTROL_PLANE_URL, the same URL the runners dial. Required wherever media is sent, production
// and local stacks alike (scripts/lib/stack.ts sets it), so nothing has to tell production apart: it is
// never taken from the request, whose Host header the client chooses (behind a proxy, or on a second
// route to the Worker), and runners refuse any link that is not under their own CONTROL_PLANE_URL.
import { ApiError } from '../http/errors';

const misconfigured = (why: string) =>
  new ApiError(500, 'server_misconfigured', `CONTROL_PLANE_URL ${why} on this deployment; media sends need it (the URL runners reach this Worker at).`);

/** CONTROL_PLANE_URL without a trailing slash; a 500 `server_misconfigured` when unset or not a plain http(s) URL. */
export function controlPlaneBase(env: { CONTROL_PLANE_URL?: string }): string {
  const raw = env.CONTROL_PLANE_URL?.trim();
  if (!raw) throw misconfigured('is not set');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw misconfigured('is not a URL');
  }
  if (!/^https?:$/.test(url.protocol) || url.username || url.password || url.search || url.hash) {
    throw misconfigured('must be an http(s) URL without credentials, query or fragment');
  }
  return url.toString().replace(/\/+$/, '');
}
