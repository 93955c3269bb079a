// The runner credential's format: the runner id is recoverable from the token alone, whatever it contains.
import { describe, expect, it } from 'vitest';
import { hashRunnerToken, newRunnerToken, runnerIdOfToken } from './runner-token';

describe('runner tokens', () => {
  it('name their runner, even one with underscores and dots, and hash to what is stored', async () => {
    for (const id of ['local-1', 'eu_west_1', 'a.b_c-d', 'x'.repeat(100)]) {
      const { token, hash, hint } = await newRunnerToken(id);
      expect(token).toMatch(new RegExp(`^sbr_${id.replace(/\./g, '\\.')}_[0-9a-f]{64}$`));
      expect(runnerIdOfToken(token)).toBe(id);
      expect(hash).toBe(await hashRunnerToken(token));
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      expect(hint.startsWith(`sbr_${id}_`)).toBe(true);
      expect(token.startsWith(hint.slice(0, -1))).toBe(true);
    }
    const a = await newRunnerToken('r');
    const b = await newRunnerToken('r');
    expect(a.token).not.toBe(b.token);
    expect(a.hash).not.toBe(b.hash);
  });

  it('anything else names no runner', () => {
    const secret = 'ab'.repeat(32);
    for (const bad of ['', 'sbr_', `sbr_${secret}`, `sbr__${secret}`, `sbr_r_${secret.slice(1)}`, `sbr_r_${secret.toUpperCase()}`, `sbr_r b_${secret}`, `sk_live_r_${secret}`, `sbr_${'x'.repeat(101)}_${secret}`]) {
      expect(runnerIdOfToken(bad), bad).toBeUndefined();
    }
  });

  it('refuses to issue for a runner id a runner could not use', async () => {
    await expect(newRunnerToken('has space')).rejects.toThrow(/runner id/);
    await expect(newRunnerToken('')).rejects.toThrow(/runner id/);
  });
});
