// Where Baileys auth state lives: R2, one snapshot plus a log of deltas per connection. Values are opaque
// JSON text from the runner, always sealed at rest (secrets/envelope.ts) under the AUTH_STATE_KEYS keyring,
// each object bound to its own R2 key: an object copied under another connection's prefix does not open.
// Nothing here stores plaintext; plaintext (and the keyless format AUTH_STATE_KEY alone once wrote) is read
// only while an operator migrates (AUTH_STATE_ACCEPT_UNSEALED), and re-sealed as it is read.
import type { AuthStateDump } from '../../protocol/runner';
import { EnvelopeError, isLegacyEnvelope, open, openLegacy, seal, sealedKeyId } from '../secrets/envelope';
import type { Keyring } from '../secrets/keyring';

const prefix = (pk: string) => `auth/${pk}/`;
export const snapshotKey = (pk: string) => `${prefix(pk)}snapshot`;
export const deltaKey = (pk: string, seq: number) => `${prefix(pk)}delta/${String(seq).padStart(12, '0')}`;
const seqOfDelta = (key: string) => Number(key.slice(key.lastIndexOf('/') + 1));
const DELTA_READ_CONCURRENCY = 8;

/** A stored object that cannot be opened: sealed under a key not configured, tampered, moved, or unsealed. */
export class AuthStateUnreadable extends Error {
  constructor(
    readonly objectKey: string,
    readonly reason: string,
  ) {
    super(`auth state object ${objectKey} is unreadable: ${reason}`);
  }
}

export interface AuthStoreOptions {
  /** Read plaintext and legacy objects (migration only); they are re-sealed as they are read. */
  acceptUnsealed?: boolean;
}

/** An object read, and whether it should be sealed again under the current key. */
interface Opened {
  text: string;
  stale: boolean;
}

export class AuthStore {
  constructor(
    private readonly bucket: R2Bucket,
    private readonly ring: Keyring,
    private readonly opts: AuthStoreOptions = {},
  ) {}

  /**
   * The whole state. Objects sealed under an older key (or not at all, when migrating) are sealed again
   * under the current one, so that a rotation completes as connections load (every session start does).
   */
  async load(pk: string): Promise<AuthStateDump | undefined> {
    const reseal: { key: string; etag: string; text: string; seq: number }[] = [];
    const read = async (key: string, obj: R2ObjectBody, seq: number) => {
      const opened = await this.decode(key, obj);
      if (opened.stale) reseal.push({ key, etag: obj.etag, text: opened.text, seq });
      return opened.text;
    };
    const snap = await this.bucket.get(snapshotKey(pk));
    let snapshot: { seq: number; data: string } | null = null;
    if (snap) {
      const seq = Number(snap.customMetadata?.seq ?? 0);
      snapshot = { seq, data: await read(snapshotKey(pk), snap, seq) };
    }
    const wanted = (await this.keys(`${prefix(pk)}delta/`)).filter((key) => !snapshot || seqOfDelta(key) > snapshot.seq);
    const deltas: { seq: number; data: string }[] = [];
    // Fetched a few at a time rather than one by one: a restore reads many sessions' logs at once.
    for (let i = 0; i < wanted.length; i += DELTA_READ_CONCURRENCY) {
      const objects = await Promise.all(wanted.slice(i, i + DELTA_READ_CONCURRENCY).map((key) => this.bucket.get(key)));
      for (const [j, obj] of objects.entries()) {
        const key = wanted[i + j]!;
        if (obj) deltas.push({ seq: seqOfDelta(key), data: await read(key, obj, seqOfDelta(key)) });
      }
    }
    // Only if nobody wrote the object meanwhile (its etag): a newer write is already under the current key.
    await Promise.all(reseal.map((r) => this.put(r.key, r.seq, r.text, { etagMatches: r.etag })));
    if (!snapshot && deltas.length === 0) return undefined;
    deltas.sort((a, b) => a.seq - b.seq);
    return { snapshot, deltas };
  }

  /** Answers what it stored (key and etag), so that a write found stale afterwards can be taken back. */
  async writeDelta(pk: string, seq: number, data: string): Promise<StoredObject> {
    return this.put(deltaKey(pk, seq), seq, data);
  }

  /** A full snapshot replaces every delta up to its seq. */
  async writeSnapshot(pk: string, seq: number, data: string): Promise<StoredObject> {
    const stored = await this.put(snapshotKey(pk), seq, data);
    const stale = (await this.keys(`${prefix(pk)}delta/`)).filter((k) => seqOfDelta(k) <= seq);
    if (stale.length) await this.bucket.delete(stale);
    return stored;
  }

  private async put(key: string, seq: number, text: string, onlyIf?: R2Conditional): Promise<StoredObject> {
    const sealed = await seal(this.ring, new TextEncoder().encode(text), key);
    const obj = await this.bucket.put(key, sealed, { customMetadata: { seq: String(seq), key_id: this.ring.currentId }, ...(onlyIf ? { onlyIf } : {}) });
    return { key, etag: obj?.etag ?? '' };
  }

  private async keys(p: string): Promise<string[]> {
    return listKeys(this.bucket, p);
  }

  private async decode(key: string, obj: R2ObjectBody): Promise<Opened> {
    const bytes = new Uint8Array(await obj.arrayBuffer());
    const keyId = sealedKeyId(bytes);
    if (keyId !== undefined) {
      try {
        return { text: new TextDecoder().decode(await open(this.ring, bytes, key)), stale: keyId !== this.ring.currentId };
      } catch (e) {
        throw new AuthStateUnreadable(key, e instanceof EnvelopeError ? e.reason : 'cannot open');
      }
    }
    if (!this.opts.acceptUnsealed) throw new AuthStateUnreadable(key, 'not sealed (set AUTH_STATE_ACCEPT_UNSEALED=true only to migrate)');
    if (isLegacyEnvelope(bytes)) {
      try {
        return { text: new TextDecoder().decode(await openLegacy(this.ring, bytes)), stale: true };
      } catch {
        throw new AuthStateUnreadable(key, 'legacy format under no configured key');
      }
    }
    return { text: new TextDecoder().decode(bytes), stale: true };
  }
}

/** Deletes a connection's auth state; needs no key (logout and delete work whatever the keyring). */
export async function removeAuthState(bucket: R2Bucket, pk: string): Promise<void> {
  const keys = await listKeys(bucket, prefix(pk));
  for (let i = 0; i < keys.length; i += 1000) await bucket.delete(keys.slice(i, i + 1000));
}

export interface StoredObject {
  key: string;
  etag: string;
}

/**
 * Takes back what a write stored when the lease turned out to be lost while it ran (a logout or delete
 * fenced it between its check and its put): only if the object is still that write's, so that a newer
 * holder's object under the same key is left alone.
 */
export async function takeBackAuthStateWrite(bucket: R2Bucket, stored: StoredObject): Promise<void> {
  const current = await bucket.head(stored.key);
  if (current && current.etag === stored.etag) await bucket.delete(stored.key);
}

async function listKeys(bucket: R2Bucket, p: string): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: p, cursor });
    out.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}
