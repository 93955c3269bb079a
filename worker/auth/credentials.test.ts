import { describe, expect, it } from 'vitest';
import { hashPassword, issueApiKey, newWebhookSecret, sha256Hex, verifyPassword, DUMMY_PASSWORD_HASH } from './credentials';

describe('credentials', () => {
  it('a password verifies against its own hash and not against another password', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(hash).toMatch(/^pbkdf2-sha256\$100000\$/);
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', hash)).toBe(false);
  });

  it('two hashes of one password differ (salted)', async () => {
    expect(await hashPassword('pw')).not.toBe(await hashPassword('pw'));
  });

  it('nothing verifies against the dummy hash or a malformed one', async () => {
    expect(await verifyPassword('', DUMMY_PASSWORD_HASH)).toBe(false);
    expect(await verifyPassword('x', 'plain$text')).toBe(false);
  });

  it('an API key is stored as its SHA-256 with a short recognisable prefix', async () => {
    const issued = await issueApiKey();
    expect(issued.key).toMatch(/^sk_live_[A-Za-z0-9_-]{43}$/);
    expect(issued.key.startsWith(issued.prefix)).toBe(true);
    expect(issued.prefix.length).toBeLessThan(16);
    expect(issued.hash).toBe(await sha256Hex(issued.key));
    expect((await issueApiKey()).key).not.toBe(issued.key);
  });

  it('a known key can be issued for scripted setups', async () => {
    const issued = await issueApiKey('sk_live_known');
    expect(issued.key).toBe('sk_live_known');
    expect(issued.hash).toBe(await sha256Hex('sk_live_known'));
  });

  it('webhook secrets follow the Standard Webhooks format', () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
  });
});
