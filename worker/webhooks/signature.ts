// Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-signature` is
// `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, keyed by the secret's bytes (the
// base64 after `whsec_`). Several signatures are space-separated: during a secret rotation deliveries are
// signed under both secrets, so a receiver that still has the old one keeps verifying.

import { hmacSha256 } from '../auth/credentials';

const SECRET_PREFIX = 'whsec_';

function secretBytes(secret: string): Uint8Array<ArrayBuffer> {
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

export async function signature(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  return `v1,${toBase64(await hmacSha256(secretBytes(secret), `${id}.${timestamp}.${body}`))}`;
}

/** The three Standard Webhooks headers for one attempt, signed with every secret given (current first). */
export async function signedHeaders(secrets: string[], id: string, body: string, now = Date.now()): Promise<Record<string, string>> {
  const timestamp = Math.floor(now / 1000);
  const signatures = await Promise.all(secrets.map((s) => signature(s, id, timestamp, body)));
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signatures.join(' ') };
}
