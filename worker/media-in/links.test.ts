import { describe, expect, it } from 'vitest';
import { signLink, verifyLink } from './links';

const key = 'k'.repeat(32);
const target = { tenantId: '5f2b1c9e-0000-4000-8000-000000000001', connectionId: 'shop', messageId: '3EB0ABC' };
const now = 1_800_000_000;

describe('signed media links', () => {
  it('open the file they name until they expire', async () => {
    const q = await signLink(key, target, now + 60);
    expect(await verifyLink(key, q, target, now)).toEqual({ ok: true, tenantId: target.tenantId });
  });

  it('are refused once expired, even with a good signature', async () => {
    const q = await signLink(key, target, now + 60);
    expect(await verifyLink(key, q, target, now + 60)).toEqual({ ok: false, reason: 'link_expired' });
  });

  it('are refused when anything in them is changed, or under another key', async () => {
    const q = await signLink(key, target, now + 60);
    for (const [name, value] of [['expires', String(now + 6000)], ['tenant', '5f2b1c9e-0000-4000-8000-000000000002'], ['signature', `${q.get('signature')!.slice(0, -1)}${q.get('signature')!.endsWith('A') ? 'B' : 'A'}`], ['signature', '']]) {
      const bent = new URLSearchParams(q);
      bent.set(name!, value!);
      expect(await verifyLink(key, bent, target, now)).toEqual({ ok: false, reason: 'invalid_signature' });
    }
    expect(await verifyLink(key, q, { ...target, messageId: 'OTHER' }, now)).toEqual({ ok: false, reason: 'invalid_signature' });
    expect(await verifyLink(key, q, { ...target, connectionId: 'other' }, now)).toEqual({ ok: false, reason: 'invalid_signature' });
    expect(await verifyLink('x'.repeat(32), q, target, now)).toEqual({ ok: false, reason: 'invalid_signature' });
  });
});
