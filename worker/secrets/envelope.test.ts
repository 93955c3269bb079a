// Envelopes open only where they were sealed, under a key still configured, and byte for byte intact.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isLegacyEnvelope, open, openLegacy, openText, seal, sealedKeyId, sealText } from './envelope';
import { KeyringError, loadKeyring, parseKeySpecs } from './keyring';

const newKey = () => randomBytes(32).toString('base64');
const text = new TextEncoder();
const K1 = newKey();
const K2 = newKey();

describe('keyrings', () => {
  it('take the first listed key as the current one, and AUTH_STATE_KEY alone as "default"', async () => {
    const ring = (await loadKeyring(`k2:${K2},k1:${K1}`, undefined))!;
    expect(ring.currentId).toBe('k2');
    expect([...ring.keys.keys()]).toEqual(['k2', 'k1']);
    expect((await loadKeyring(undefined, K1))!.currentId).toBe('default');
    expect(await loadKeyring(undefined, '')).toBeUndefined();
  });

  it('refuse what would be ambiguous or weak, without echoing key material', () => {
    expect(() => parseKeySpecs(`k1:${K1}`, K2)).toThrow(KeyringError);
    expect(() => parseKeySpecs(`k1:${K1},k1:${K2}`, undefined)).toThrow(/twice/);
    expect(() => parseKeySpecs(K1, undefined)).toThrow(KeyringError); // no id
    expect(() => parseKeySpecs(`k1:${randomBytes(16).toString('base64')}`, undefined)).toThrow(/32 bytes/);
    expect(() => parseKeySpecs(`bad id:${K1}`, undefined)).toThrow(KeyringError);
    try {
      parseKeySpecs(`k1:${K1.slice(0, 20)}`, undefined);
    } catch (e) {
      expect(String(e)).not.toContain(K1.slice(0, 20));
    }
  });
});

describe('envelopes', () => {
  const context = 'auth/0b8e/snapshot';

  it('name their key and open under it with the same context', async () => {
    const ring = (await loadKeyring(`k1:${K1}`, undefined))!;
    const sealed = await seal(ring, text.encode('{"creds":1}'), context);
    expect(sealedKeyId(sealed)).toBe('k1');
    expect(Buffer.from(sealed).includes(Buffer.from('creds'))).toBe(false);
    expect(new TextDecoder().decode(await open(ring, sealed, context))).toBe('{"creds":1}');
  });

  it('do not open under another context (an object copied to another connection)', async () => {
    const ring = (await loadKeyring(`k1:${K1}`, undefined))!;
    const sealed = await seal(ring, text.encode('secret'), 'auth/connection-a/snapshot');
    await expect(open(ring, sealed, 'auth/connection-b/snapshot')).rejects.toMatchObject({ reason: 'authentication_failed' });
  });

  it('do not open under a key id that is not configured, nor under another key with that id', async () => {
    const sealed = await seal((await loadKeyring(`k1:${K1}`, undefined))!, text.encode('secret'), context);
    await expect(open((await loadKeyring(`k2:${K2}`, undefined))!, sealed, context)).rejects.toMatchObject({ reason: 'unknown_key' });
    await expect(open((await loadKeyring(`k1:${K2}`, undefined))!, sealed, context)).rejects.toMatchObject({ reason: 'authentication_failed' });
  });

  it('refuse any byte changed: ciphertext, tag, IV or key id', async () => {
    const ring = (await loadKeyring(`k1:${K1},k9:${K1}`, undefined))!;
    const sealed = await seal(ring, text.encode('secret value'), context);
    for (const at of [2 + 2 /* IV */, sealed.length - 20 /* ciphertext */, sealed.length - 1 /* tag */]) {
      const tampered = sealed.slice();
      tampered[at]! ^= 1;
      await expect(open(ring, tampered, context)).rejects.toMatchObject({ reason: 'authentication_failed' });
    }
    // The same key under another id: the id is authenticated, so relabelling fails too.
    const relabelled = sealed.slice();
    relabelled.set(text.encode('k9'), 2);
    await expect(open(ring, relabelled, context)).rejects.toMatchObject({ reason: 'authentication_failed' });
  });

  it('survive a rotation: the new key seals, the old one still opens what it sealed', async () => {
    const before = (await loadKeyring(`k1:${K1}`, undefined))!;
    const during = (await loadKeyring(`k2:${K2},k1:${K1}`, undefined))!;
    const after = (await loadKeyring(`k2:${K2}`, undefined))!;
    const old = await seal(before, text.encode('old'), context);
    const fresh = await seal(during, text.encode('new'), context);
    expect(sealedKeyId(fresh)).toBe('k2');
    expect(new TextDecoder().decode(await open(during, old, context))).toBe('old');
    expect(new TextDecoder().decode(await open(after, fresh, context))).toBe('new');
    await expect(open(after, old, context)).rejects.toMatchObject({ reason: 'unknown_key' });
  });

  it('refuse plaintext, and read the legacy format only when asked to', async () => {
    const ring = (await loadKeyring(undefined, K1))!;
    await expect(open(ring, text.encode('{"creds":{}}'), context)).rejects.toMatchObject({ reason: 'not_sealed' });
    // What AUTH_STATE_KEY alone used to write: 0x01 | IV | AES-GCM without associated data.
    const key = await crypto.subtle.importKey('raw', Buffer.from(K1, 'base64'), 'AES-GCM', false, ['encrypt']);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const legacy = new Uint8Array([1, ...iv, ...new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, text.encode('legacy')))]);
    await expect(open(ring, legacy, context)).rejects.toMatchObject({ reason: 'not_sealed' });
    expect(isLegacyEnvelope(legacy)).toBe(true);
    expect(new TextDecoder().decode(await openLegacy(ring, legacy))).toBe('legacy');
  });

  it('as text: carry the key id in clear, open only in their context', async () => {
    const ring = (await loadKeyring(`k2:${K2},k1:${K1}`, undefined))!;
    const sealed = await sealText(ring, 'whsec_abc', 'webhook-secret/c1');
    expect(sealed).toMatch(/^sealed:k2:[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('whsec_abc');
    expect(await openText(ring, sealed, 'webhook-secret/c1')).toBe('whsec_abc');
    await expect(openText(ring, sealed, 'webhook-secret/c2')).rejects.toMatchObject({ reason: 'authentication_failed' });
    await expect(openText(ring, 'whsec_abc', 'webhook-secret/c1')).rejects.toMatchObject({ reason: 'not_sealed' });
    await expect(openText(ring, sealed.replace('sealed:k2:', 'sealed:k3:'), 'webhook-secret/c1')).rejects.toMatchObject({ reason: 'unknown_key' });
  });
});
