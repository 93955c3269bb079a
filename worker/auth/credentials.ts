// Secrets the control plane issues and checks: API keys, session tokens, webhook secrets and passwords.
// Web Crypto only, so the same code runs in workerd (the Worker) and in Node (the admin CLI, tests).

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(s: string): Uint8Array {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

function randomToken(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** SHA-256 as hex (of a string's UTF-8, or of bytes). Right for high-entropy tokens (API keys, session ids) and file digests; never for passwords. */
export async function sha256Hex(value: string | Uint8Array): Promise<string> {
  // (Node's DOM types want an ArrayBuffer-backed view; workerd and Node take any Uint8Array.)
  const data = typeof value === 'string' ? encoder.encode(value) : (value as Uint8Array<ArrayBuffer>);
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', data)));
}

/** HMAC-SHA-256 of a string's UTF-8 under a key (a string's UTF-8, or raw bytes). */
export async function hmacSha256(key: string | Uint8Array, message: string): Promise<Uint8Array> {
  const raw = typeof key === 'string' ? encoder.encode(key) : (key as Uint8Array<ArrayBuffer>);
  const imported = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', imported, encoder.encode(message)));
}

export const API_KEY_PREFIX = 'sk_live_';
/** How much of a key is stored in clear to let people recognise it. */
const SHOWN_PREFIX_LENGTH = API_KEY_PREFIX.length + 6;

export interface IssuedApiKey {
  key: string;
  prefix: string;
  hash: string;
}

/** A new API key (256 bits of randomness), its display prefix and the hash to store. */
export async function issueApiKey(known?: string): Promise<IssuedApiKey> {
  const key = known ?? `${API_KEY_PREFIX}${randomToken(32)}`;
  return { key, prefix: key.slice(0, SHOWN_PREFIX_LENGTH), hash: await sha256Hex(key) };
}

export function newSessionToken(): string {
  return randomToken(32);
}

/** Webhook signing secret in the Standard Webhooks format (`whsec_` + base64 of 24 random bytes). */
export function newWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return `whsec_${btoa(s)}`;
}

// PBKDF2-SHA256 is the slow KDF Web Crypto offers in Workers; 100k iterations is the most workerd allows.
const PBKDF2_ITERATIONS = 100_000;

async function pbkdf2(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(password), 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: salt as Uint8Array<ArrayBuffer>, iterations },
    key,
    256,
  );
  return new Uint8Array(bits);
}

/** Encoded as `pbkdf2-sha256$<iterations>$<salt>$<hash>` so the cost can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await pbkdf2(password, salt, PBKDF2_ITERATIONS);
  return `pbkdf2-sha256$${PBKDF2_ITERATIONS}$${base64url(salt)}$${base64url(hash)}`;
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const [scheme, iterations, salt, expected] = encoded.split('$');
  if (scheme !== 'pbkdf2-sha256' || !iterations || !salt || !expected) return false;
  const actual = await pbkdf2(password, fromBase64url(salt), Number(iterations));
  return timingSafeEqual(actual, fromBase64url(expected));
}

/** A hash to verify against when the user does not exist, so a miss costs as much as a hit. */
export const DUMMY_PASSWORD_HASH = `pbkdf2-sha256$${PBKDF2_ITERATIONS}$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;

export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
