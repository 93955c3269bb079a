// AES-256-GCM envelopes for secrets at rest, one format for all of them (auth state in R2, webhook secrets
// in Postgres). Each envelope names the key that sealed it (rotation: keyring.ts) and is bound to a
// context, the place it belongs (an R2 object key, a connection's secret column): the context is
// authenticated as associated data, so an envelope copied to another place does not open there.
//
// Bytes:  0x02 | key id length (1 byte) | key id (ASCII) | IV (12 bytes) | ciphertext + 16-byte tag
// Text:   sealed:<key id>:<base64url(IV | ciphertext + tag)>        (the key id readable by SQL)
import type { Keyring } from './keyring';

const FORMAT = 2;
/** The format before key ids and associated data (AUTH_STATE_KEY alone): read only when migrating. */
const LEGACY_FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const TEXT_PREFIX = 'sealed:';

export type EnvelopeFailure = 'not_sealed' | 'malformed' | 'unknown_key' | 'authentication_failed';

export class EnvelopeError extends Error {
  constructor(readonly reason: EnvelopeFailure, message: string) {
    super(message);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The key id is authenticated too, so that a relabelled envelope fails even under a shared key. */
const associatedData = (keyId: string, context: string) => encoder.encode(`switchboard-envelope-v${FORMAT}\n${keyId}\n${context}`);

async function encrypt(ring: Keyring, plaintext: Uint8Array, context: string): Promise<{ keyId: string; body: Uint8Array }> {
  const keyId = ring.currentId;
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: associatedData(keyId, context) },
    ring.keys.get(keyId)!,
    plaintext as Uint8Array<ArrayBuffer>,
  );
  const body = new Uint8Array(IV_BYTES + sealed.byteLength);
  body.set(iv);
  body.set(new Uint8Array(sealed), IV_BYTES);
  return { keyId, body };
}

async function decrypt(ring: Keyring, keyId: string, body: Uint8Array, context: string): Promise<Uint8Array> {
  const key = ring.keys.get(keyId);
  if (!key) throw new EnvelopeError('unknown_key', `sealed under key "${keyId}", which is not configured`);
  if (body.length < IV_BYTES + TAG_BYTES) throw new EnvelopeError('malformed', 'envelope too short');
  try {
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: body.subarray(0, IV_BYTES), additionalData: associatedData(keyId, context) },
      key,
      body.subarray(IV_BYTES),
    );
    return new Uint8Array(plain);
  } catch {
    throw new EnvelopeError('authentication_failed', 'envelope does not open here (tampered, or sealed for another place)');
  }
}

// Bytes -------------------------------------------------------------------------------------------

export async function seal(ring: Keyring, plaintext: Uint8Array, context: string): Promise<Uint8Array> {
  const { keyId, body } = await encrypt(ring, plaintext, context);
  const id = encoder.encode(keyId);
  const out = new Uint8Array(2 + id.length + body.length);
  out[0] = FORMAT;
  out[1] = id.length;
  out.set(id, 2);
  out.set(body, 2 + id.length);
  return out;
}

/** The id of the key an envelope was sealed under; undefined when these bytes are not an envelope. */
export function sealedKeyId(bytes: Uint8Array): string | undefined {
  if (bytes[0] !== FORMAT || bytes.length < 2) return undefined;
  const n = bytes[1]!;
  if (n === 0 || bytes.length < 2 + n) return undefined;
  return decoder.decode(bytes.subarray(2, 2 + n));
}

export async function open(ring: Keyring, bytes: Uint8Array, context: string): Promise<Uint8Array> {
  const keyId = sealedKeyId(bytes);
  if (keyId === undefined) throw new EnvelopeError('not_sealed', 'not an envelope');
  return decrypt(ring, keyId, bytes.subarray(2 + bytes[1]!), context);
}

/** Bytes in the legacy format (AES-GCM, no key id, no context): what AUTH_STATE_KEY alone used to write. */
export const isLegacyEnvelope = (bytes: Uint8Array) => bytes[0] === LEGACY_FORMAT && bytes.length >= 1 + IV_BYTES + TAG_BYTES;

/** Opens a legacy envelope with whichever configured key sealed it. Only for migrations: it is bound to no place. */
export async function openLegacy(ring: Keyring, bytes: Uint8Array): Promise<Uint8Array> {
  for (const key of ring.keys.values()) {
    try {
      return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes.subarray(1, 1 + IV_BYTES) }, key, bytes.subarray(1 + IV_BYTES)));
    } catch {
      // not this key
    }
  }
  throw new EnvelopeError('authentication_failed', 'legacy envelope opens under no configured key');
}

// Text --------------------------------------------------------------------------------------------

function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(s: string): Uint8Array {
  try {
    return Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  } catch {
    throw new EnvelopeError('malformed', 'envelope body is not base64url');
  }
}

export const isSealedText = (value: string) => value.startsWith(TEXT_PREFIX);

/** The SQL `like` pattern of text sealed under a key (for sweeps that re-seal what an older key sealed). */
export const sealedTextPattern = (keyId: string) => `${TEXT_PREFIX}${keyId.replaceAll('_', '\\_')}:%`;

export async function sealText(ring: Keyring, plaintext: string, context: string): Promise<string> {
  const { keyId, body } = await encrypt(ring, encoder.encode(plaintext), context);
  return `${TEXT_PREFIX}${keyId}:${base64url(body)}`;
}

export async function openText(ring: Keyring, value: string, context: string): Promise<string> {
  if (!isSealedText(value)) throw new EnvelopeError('not_sealed', 'not a sealed text');
  const rest = value.slice(TEXT_PREFIX.length);
  const at = rest.indexOf(':');
  if (at <= 0) throw new EnvelopeError('malformed', 'sealed text without a key id');
  return decoder.decode(await decrypt(ring, rest.slice(0, at), fromBase64url(rest.slice(at + 1)), context));
}
