// A versioned set of AES-256 keys from one environment variable, for secrets the control plane keeps at
// rest (WhatsApp auth state in R2, webhook secrets in Postgres). Several keys at once make rotation
// possible: the first one seals everything new, every one listed still opens what it sealed earlier.
//
//   AUTH_STATE_KEYS="k2:<base64 32 bytes>,k1:<base64 32 bytes>"   (k2 writes; k1 still reads)
//   AUTH_STATE_KEY="<base64 32 bytes>"                             (the same as "default:<base64>")

/** A key id travels with each sealed value in clear: short, and nothing a parser could trip over. */
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
export const SINGLE_KEY_ID = 'default';

/** (Spelled this way so that the type exists under both workerd's and Node's typings.) */
type AesKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

export interface Keyring {
  /** Id of the key that seals new values. */
  currentId: string;
  keys: ReadonlyMap<string, AesKey>;
}

export class KeyringError extends Error {}

interface KeySpec {
  id: string;
  raw: Uint8Array;
}

function decodeKey(id: string, b64: string): Uint8Array {
  let raw: Uint8Array;
  try {
    raw = Uint8Array.from(atob(b64.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  } catch {
    throw new KeyringError(`key "${id}" is not base64`);
  }
  if (raw.length !== 32) throw new KeyringError(`key "${id}" must be 32 bytes (AES-256), not ${raw.length}`);
  return raw;
}

/** Parses `id:base64,id:base64` (first one current) or, failing that, a single base64 key. Never logs key material. */
export function parseKeySpecs(list: string | undefined, single: string | undefined): KeySpec[] {
  const listed = list?.trim();
  const alone = single?.trim();
  if (listed && alone) throw new KeyringError('set either the key list or the single key, not both');
  if (alone) return [{ id: SINGLE_KEY_ID, raw: decodeKey(SINGLE_KEY_ID, alone) }];
  if (!listed) return [];
  const specs: KeySpec[] = [];
  for (const entry of listed.split(',')) {
    const at = entry.indexOf(':');
    const id = entry.slice(0, at).trim();
    if (at < 0 || !KEY_ID.test(id)) throw new KeyringError('each entry must be <id>:<base64 key>, the id of letters, digits, - or _');
    if (specs.some((s) => s.id === id)) throw new KeyringError(`key id "${id}" is listed twice`);
    specs.push({ id, raw: decodeKey(id, entry.slice(at + 1).trim()) });
  }
  return specs;
}

const cache = new Map<string, Promise<Keyring | undefined>>();

/**
 * The keyring the two variables describe, or undefined when neither is set (the caller decides: every
 * user of a keyring here fails closed without one). Imported once per isolate and spec.
 */
export function loadKeyring(list: string | undefined, single: string | undefined): Promise<Keyring | undefined> {
  const cacheKey = `${list ?? ''}\u0000${single ?? ''}`;
  let ring = cache.get(cacheKey);
  if (!ring) {
    ring = (async () => {
      const specs = parseKeySpecs(list, single);
      if (specs.length === 0) return undefined;
      const keys = new Map<string, AesKey>();
      for (const s of specs) {
        keys.set(s.id, await crypto.subtle.importKey('raw', s.raw as Uint8Array<ArrayBuffer>, 'AES-GCM', false, ['encrypt', 'decrypt']));
      }
      return { currentId: specs[0]!.id, keys };
    })();
    // A bad spec is not cached as a rejection forever: the next request reports it again (and logs it).
    ring.catch(() => cache.delete(cacheKey));
    cache.set(cacheKey, ring);
  }
  return ring;
}

/** The keyring that seals WhatsApp auth state in R2 (AUTH_STATE_KEYS, or AUTH_STATE_KEY alone). */
export const authStateKeyring = (env: { AUTH_STATE_KEYS?: string; AUTH_STATE_KEY?: string }) => loadKeyring(env.AUTH_STATE_KEYS, env.AUTH_STATE_KEY);

/** The keyring that seals webhook secrets in Postgres (WEBHOOK_SECRET_KEYS, or WEBHOOK_SECRET_KEY alone). */
export const webhookSecretKeyring = (env: { WEBHOOK_SECRET_KEYS?: string; WEBHOOK_SECRET_KEY?: string }) =>
  loadKeyring(env.WEBHOOK_SECRET_KEYS, env.WEBHOOK_SECRET_KEY);
