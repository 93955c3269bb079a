// Signed links to received media, for webhook bodies: a receiver gets the file without an API key, for a
// short while. The link names the tenant, the connection and the message, and when it expires; its
// signature is an HMAC-SHA256 of exactly those under MEDIA_LINK_KEY (a Worker secret), so a link cannot be
// bent to another file or made to last longer. Verified in constant time; an expired link is refused even
// with a good signature.

const enc = new TextEncoder();
const b64url = (bytes: ArrayBuffer) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

export type LinkTarget = { tenantId: string; connectionId: string; messageId: string };

const payload = (t: LinkTarget, expires: number) => `media-link:v1\n${t.tenantId}\n${t.connectionId}\n${t.messageId}\n${expires}`;

async function hmac(key: string, data: string): Promise<string> {
  const k = await crypto.subtle.importKey('raw', enc.encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return b64url(await crypto.subtle.sign('HMAC', k, enc.encode(data)));
}

/** `?tenant=…&expires=…&signature=…` for `t`, valid until `expires` (seconds since the epoch). */
export async function signLink(key: string, t: LinkTarget, expires: number): Promise<URLSearchParams> {
  return new URLSearchParams({ tenant: t.tenantId, expires: String(expires), signature: await hmac(key, payload(t, expires)) });
}

export type LinkVerdict = { ok: true; tenantId: string } | { ok: false; reason: 'invalid_signature' | 'link_expired' };

/** Checks a signed link's query for `connectionId`/`messageId` at `nowSeconds`. */
export async function verifyLink(key: string, query: URLSearchParams, target: Omit<LinkTarget, 'tenantId'>, nowSeconds: number): Promise<LinkVerdict> {
  const tenantId = query.get('tenant') ?? '';
  const expiresRaw = query.get('expires') ?? '';
  const signature = query.get('signature') ?? '';
  if (!/^\d{1,12}$/.test(expiresRaw) || !tenantId || !signature) return { ok: false, reason: 'invalid_signature' };
  const expected = await hmac(key, payload({ ...target, tenantId }, Number(expiresRaw)));
  if (!constantTimeEqual(expected, signature)) return { ok: false, reason: 'invalid_signature' };
  if (Number(expiresRaw) <= nowSeconds) return { ok: false, reason: 'link_expired' };
  return { ok: true, tenantId };
}

function constantTimeEqual(a: string, b: string): boolean {
  const x = enc.encode(a);
  const y = enc.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ (y[i % (y.length || 1)] ?? 0);
  return diff === 0;
}
