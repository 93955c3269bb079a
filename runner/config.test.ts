// Configuration: the media settings' defaults, and a WA_MEDIA_CA that cannot be used fails at start.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'runner-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const base = { CONTROL_PLANE_URL: 'http://127.0.0.1:8787/', RUNNER_TOKEN: 't', RUNNER_ID: 'r1' };

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
