// Where Baileys auth state lives: R2, one snapshot plus a log of deltas per connection. Values are opaque
// JSON text from the runner; with AUTH_STATE_KEY set they are encrypted (AES-256-GCM) at rest.
import type { AuthStateDump } from '../../protocol/runner';

const prefix = (pk: string) => `auth/${pk}/`;
const snapshotKey = (pk: string) => `${prefix(pk)}snapshot`;
const deltaKey = (pk: string, seq: number) => `${prefix(pk)}delta/${String(seq).padStart(12, '0')}`;
const seqOfDelta = (key: string) => Number(key.slice(key.lastIndexOf('/') + 1));
const DELTA_READ_CONCURRENCY = 8;

export class AuthStore {
  private keyPromise?: Promise<CryptoKey | undefined>;

  constructor(
    private readonly bucket: R2Bucket,
    private readonly secret?: string,
  ) {}

  async load(pk: string): Promise<AuthStateDump | undefined> {
    const snap = await this.bucket.get(snapshotKey(pk));
    const snapshot = snap ? { seq: Number(snap.customMetadata?.seq ?? 0), data: await this.decode(snap) } : null;
    const wanted = (await this.keys(`${prefix(pk)}delta/`)).filter((key) => !snapshot || seqOfDelta(key) > snapshot.seq);
    const deltas: { seq: number; data: string }[] = [];
    // Fetched a few at a time rather than one by one: a restore reads many sessions' logs at once.
    for (let i = 0; i < wanted.length; i += DELTA_READ_CONCURRENCY) {
      const objects = await Promise.all(wanted.slice(i, i + DELTA_READ_CONCURRENCY).map((key) => this.bucket.get(key)));
      for (const [j, obj] of objects.entries()) {
        if (obj) deltas.push({ seq: seqOfDelta(wanted[i + j]!), data: await this.decode(obj) });
      }
    }
    if (!snapshot && deltas.length === 0) return undefined;
    deltas.sort((a, b) => a.seq - b.seq);
    return { snapshot, deltas };
  }

  async writeDelta(pk: string, seq: number, data: string): Promise<void> {
    await this.bucket.put(deltaKey(pk, seq), await this.encode(data), { customMetadata: { seq: String(seq) } });
  }

  /** A full snapshot replaces every delta up to its seq. */
  async writeSnapshot(pk: string, seq: number, data: string): Promise<void> {
    await this.bucket.put(snapshotKey(pk), await this.encode(data), { customMetadata: { seq: String(seq) } });
    const stale = (await this.keys(`${prefix(pk)}delta/`)).filter((k) => seqOfDelta(k) <= seq);
    if (stale.length) await this.bucket.delete(stale);
  }

  async remove(pk: string): Promise<void> {
    const keys = await this.keys(prefix(pk));
    for (let i = 0; i < keys.length; i += 1000) await this.bucket.delete(keys.slice(i, i + 1000));
  }

  private async keys(p: string): Promise<string[]> {
    const out: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.bucket.list({ prefix: p, cursor });
      out.push(...page.objects.map((o) => o.key));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return out;
  }

  private cryptoKey(): Promise<CryptoKey | undefined> {
    this.keyPromise ??= this.secret
      ? crypto.subtle.importKey('raw', Uint8Array.from(atob(this.secret), (c) => c.charCodeAt(0)), 'AES-GCM', false, ['encrypt', 'decrypt'])
      : Promise.resolve(undefined);
    return this.keyPromise;
  }

  private async encode(text: string): Promise<ArrayBuffer | string> {
    const key = await this.cryptoKey();
    if (!key) return text;
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, new TextEncoder().encode(text)));
    const out = new Uint8Array(1 + iv.length + sealed.length);
    out[0] = 1; // format version: AES-GCM
    out.set(iv, 1);
    out.set(sealed, 13);
    return out.buffer;
  }

  private async decode(obj: R2ObjectBody): Promise<string> {
    const bytes = new Uint8Array(await obj.arrayBuffer());
    const key = await this.cryptoKey();
    if (!key || bytes[0] !== 1) return new TextDecoder().decode(bytes);
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes.slice(1, 13) }, key, bytes.slice(13));
    return new TextDecoder().decode(plain);
  }
}
