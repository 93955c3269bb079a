// Configuration: the media settings' defaults, and a WA_MEDIA_CA that cannot be used fails at start.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'runner-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const base = { CONTROL_PLANE_URL: 'http://127.0.0.1:8787/', RUNNER_TOKEN: `sbr_r1_${'0a'.repeat(32)}`, RUNNER_ID: 'r1' };

describe('media configuration', () => {
  it('defaults: 64 MiB per file, 60 s per download, no extra CA', () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({ maxMediaBytes: 64 * 1024 * 1024, mediaDownloadTimeoutMs: 60_000, controlPlaneUrl: 'http://127.0.0.1:8787' });
    expect(c.waMediaCa).toBeUndefined();
  });

  it('WA_MEDIA_CA is read once at start; a missing or non-PEM file names the variable', () => {
    const pem = join(dir, 'ca.pem');
    writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    expect(loadConfig({ ...base, WA_MEDIA_CA: pem, MAX_MEDIA_BYTES: '1000' })).toMatchObject({ waMediaCa: expect.stringContaining('BEGIN CERTIFICATE'), maxMediaBytes: 1000 });
    expect(() => loadConfig({ ...base, WA_MEDIA_CA: join(dir, 'missing.pem') })).toThrow(/WA_MEDIA_CA: cannot read .*ENOENT/);
    writeFileSync(join(dir, 'junk.pem'), 'not a certificate');
    expect(() => loadConfig({ ...base, WA_MEDIA_CA: join(dir, 'junk.pem') })).toThrow(/WA_MEDIA_CA: .* holds no PEM certificate/);
    expect(() => loadConfig({ ...base, MAX_MEDIA_BYTES: '0' })).toThrow(/MAX_MEDIA_BYTES/);
  });
});

describe('number lookup', () => {
  it('is on unless NUMBER_LOOKUP=false; anything else is refused at start', () => {
    expect(loadConfig(base).numberLookup).toBe(true);
    expect(loadConfig({ ...base, NUMBER_LOOKUP: 'false' }).numberLookup).toBe(false);
    expect(() => loadConfig({ ...base, NUMBER_LOOKUP: 'no' })).toThrow(/NUMBER_LOOKUP/);
  });
});

describe('which WhatsApp server', () => {
  const root = Buffer.alloc(32, 7).toString('base64');
  it("WhatsApp's own needs nothing; any other server only with WA_TRUST_ROOT", () => {
    expect(loadConfig(base).waWebSocketUrl).toBeUndefined();
    expect(loadConfig({ ...base, WA_WEBSOCKET_URL: 'wss://web.whatsapp.com/ws/chat' }).waTrustRoot).toBeUndefined();
    expect(() => loadConfig({ ...base, WA_WEBSOCKET_URL: 'ws://127.0.0.1:5800/ws/chat' })).toThrow(/WA_WEBSOCKET_URL: .*needs WA_TRUST_ROOT/);
    expect(() => loadConfig({ ...base, WA_WEBSOCKET_URL: 'ws://web.whatsapp.com/ws/chat' })).toThrow(/needs WA_TRUST_ROOT/);
    expect(() => loadConfig({ ...base, WA_WEBSOCKET_URL: 'wss://web.whatsapp.com.evil.example/ws/chat' })).toThrow(/needs WA_TRUST_ROOT/);
    expect(loadConfig({ ...base, WA_WEBSOCKET_URL: 'ws://127.0.0.1:5800/ws/chat', WA_TRUST_ROOT: root })).toMatchObject({ waTrustRoot: root });
  });
});

describe('send pacing configuration', () => {
  it('paces by default (20 a minute, burst 5, 2 s jitter, 15 s bound); off turns it off; a malformed pace stops the runner', () => {
    expect(loadConfig(base).sendPacing).toEqual({ ratePerSecond: 20 / 60, burst: 5, jitterMs: 2_000, maxWaitMs: 15_000 });
    expect(loadConfig({ ...base, SEND_PACE: '2/1', SEND_BURST: '1', SEND_JITTER_MS: '0', SEND_MAX_WAIT_MS: '3000' }).sendPacing).toEqual({
      ratePerSecond: 2,
      burst: 1,
      jitterMs: 0,
      maxWaitMs: 3_000,
    });
    expect(loadConfig({ ...base, SEND_PACE: 'off' }).sendPacing).toBeUndefined();
    expect(() => loadConfig({ ...base, SEND_PACE: 'fast' })).toThrow(/SEND_PACE: must be count\/seconds/);
  });
});

describe('the runner credential', () => {
  const token = (id: string) => `sbr_${id}_${'c3'.repeat(32)}`;
  it('names the runner: RUNNER_ID may be left out, and if given must be the token\'s', () => {
    expect(loadConfig({ CONTROL_PLANE_URL: 'http://127.0.0.1:8787', RUNNER_TOKEN: token('eu_west.1') })).toMatchObject({
      runnerId: 'eu_west.1',
      linkUrl: 'ws://127.0.0.1:8787/internal/runners/connect?runner_id=eu_west.1',
    });
    expect(loadConfig({ CONTROL_PLANE_URL: 'http://x', RUNNER_TOKEN: token('a'), RUNNER_ID: 'a' }).runnerId).toBe('a');
    expect(() => loadConfig({ CONTROL_PLANE_URL: 'http://x', RUNNER_TOKEN: token('a'), RUNNER_ID: 'b' })).toThrow(/RUNNER_ID: is b, but RUNNER_TOKEN is runner a's credential/);
  });

  it('a shared secret or a malformed token is refused at start, naming the command that issues one', () => {
    for (const bad of ['t', 'sbr_a_short', `sbr__${'c3'.repeat(32)}`, `sbr_a b_${'c3'.repeat(32)}`, `sbr_a_${'C3'.repeat(32)}`]) {
      expect(() => loadConfig({ CONTROL_PLANE_URL: 'http://x', RUNNER_TOKEN: bad }), bad).toThrow(/RUNNER_TOKEN: must be a runner credential.*issue-runner-token/);
    }
  });
});
