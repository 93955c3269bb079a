// The dashboard's session cookie. Everywhere but a local address it is `__Host-sb_session`: Secure whatever
// scheme the Worker sees (a TLS-terminating proxy in front may hand it http), bound to this exact host (no
// Domain, Path=/), HttpOnly, SameSite=Strict. On localhost / 127.0.0.1 (npm run dev, tests, over plain http)
// browsers would drop a Secure cookie, so it is plain `sb_session` there, still HttpOnly and SameSite=Strict.
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

export const SECURE_SESSION_COOKIE = '__Host-sb_session';
export const LOCAL_SESSION_COOKIE = 'sb_session';

/** A loopback host: the development stack and tests. */
export function isLocalUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host.endsWith('.localhost') || host === '127.0.0.1' || host === '[::1]';
}

/** The session token the request carries; the local cookie counts only on a local address. */
export const readSessionCookie = (c: Context): string | undefined =>
  getCookie(c, SECURE_SESSION_COOKIE) ?? (isLocalUrl(c.req.url) ? getCookie(c, LOCAL_SESSION_COOKIE) : undefined);

export function writeSessionCookie(c: Context, token: string, maxAgeSeconds: number): void {
  const local = isLocalUrl(c.req.url);
  // Hono adds the __Host- prefix itself (and with it Secure, Path=/, no Domain).
  setCookie(c, LOCAL_SESSION_COOKIE, token, {
    httpOnly: true,
    secure: !local,
    sameSite: 'Strict',
    path: '/',
    maxAge: maxAgeSeconds,
    ...(local ? {} : { prefix: 'host' as const }),
  });
}

export function clearSessionCookie(c: Context): void {
  if (isLocalUrl(c.req.url)) deleteCookie(c, LOCAL_SESSION_COOKIE, { path: '/' });
  else deleteCookie(c, LOCAL_SESSION_COOKIE, { path: '/', secure: true, prefix: 'host' });
}

/** HSTS for what the Worker answers over https on a real host (dashboard files get it from their _headers). */
export const HSTS = 'max-age=63072000; includeSubDomains';
