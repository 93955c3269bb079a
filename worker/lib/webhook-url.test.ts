import { describe, expect, it } from 'vitest';
import { checkWebhookUrl, parsePrivateTargetPolicy } from './webhook-url';

const strict = parsePrivateTargetPolicy('');

describe('webhook URL policy', () => {
  it.each([
    'https://api.example.com/webhook',
    'http://hooks.example.org/in?x=1',
    'https://hooks.example.org:443/in',
    'https://8.8.8.8/hook',
    'https://[2606:4700::1111]/hook',
  ])('accepts public target %s', (url) => {
    expect(checkWebhookUrl(url, strict).ok).toBe(true);
  });

  it.each([
    'http://127.0.0.1:8080/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://localhost/hook',
    'http://api.localhost/hook',
    'http://10.1.2.3/',
    'http://172.20.0.1/',
    'http://192.168.1.1/',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://[::1]/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:169.254.169.254]/',
    'http://2130706433/', // 127.0.0.1 in decimal
    'http://0x7f.0.0.1/', // 127.0.0.1 in hex
    'http://017700000001/', // 127.0.0.1 in octal
    'http://intranet/',
    'http://metadata.google.internal/',
    'http://printer.local/',
  ])('refuses internal target %s', (url) => {
    const verdict = checkWebhookUrl(url, strict);
    expect(verdict.ok).toBe(false);
  });

  it.each(['ftp://example.com/x', 'javascript:alert(1)', 'file:///etc/passwd', 'not a url', '/relative/path'])(
    'refuses non-http(s) or malformed %s',
    (url) => {
      expect(checkWebhookUrl(url, strict).ok).toBe(false);
    },
  );

  it.each([
    ['http://hooks.example.org:8080/in', /port 8080/],
    ['https://hooks.example.org:5432/', /port 5432/],
    ['https://user:secret@hooks.example.org/in', /credentials/],
    ['https://token@hooks.example.org/in', /credentials/],
  ])('refuses a public target on another port, or with credentials: %s', (url, reason) => {
    const verdict = checkWebhookUrl(url, strict);
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toMatch(reason);
  });

  it('allows another port only where the operator listed that host:port', () => {
    const listed = parsePrivateTargetPolicy('hooks.example.org:8443, sink.localhost');
    expect(checkWebhookUrl('https://hooks.example.org:8443/in', listed).ok).toBe(true);
    expect(checkWebhookUrl('https://hooks.example.org:8444/in', listed).ok).toBe(false);
    // A host listed without a port keeps the standard ports.
    expect(checkWebhookUrl('http://sink.localhost:8080/in', listed).ok).toBe(false);
  });

  it('allows every private target when the operator sets ALLOW_PRIVATE_WEBHOOK_TARGETS=true', () => {
    const open = parsePrivateTargetPolicy('true');
    expect(checkWebhookUrl('http://127.0.0.1:9000/hook', open).ok).toBe(true);
    expect(checkWebhookUrl('http://169.254.169.254/', open).ok).toBe(true);
    expect(checkWebhookUrl('http://user:pw@127.0.0.1:9000/hook', open).ok).toBe(true);
  });

  it('allows only the listed hosts when ALLOW_PRIVATE_WEBHOOK_TARGETS is a list', () => {
    const listed = parsePrivateTargetPolicy('127.0.0.1:9000, sink.localhost');
    expect(checkWebhookUrl('http://127.0.0.1:9000/hook', listed).ok).toBe(true);
    expect(checkWebhookUrl('http://127.0.0.1:9001/hook', listed).ok).toBe(false);
    expect(checkWebhookUrl('http://sink.localhost/any', listed).ok).toBe(true);
    expect(checkWebhookUrl('http://169.254.169.254/', listed).ok).toBe(false);
  });
});
