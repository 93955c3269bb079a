// The outbound URL rules shared by webhook targets and media sources: hosts that lead to non-public
// addresses (by address, by name, by what a name spells), ports, credentials, and the operator's allowance.
import { describe, expect, it } from 'vitest';
import { checkOutboundUrl, nonPublicHostReason, parsePrivateTargetPolicy } from './outbound-url';

const strict = parsePrivateTargetPolicy('');
const refusal = (url: string, policy = strict) => {
  const verdict = checkOutboundUrl(url, policy);
  return verdict.ok ? undefined : verdict;
};

describe('hosts that lead to non-public addresses', () => {
  it.each([
    // Names of wildcard DNS services, which resolve to whatever address they spell.
    ['http://127.0.0.1.nip.io/', /nip\.io is a wildcard DNS service/],
    ['http://app.10.0.0.1.nip.io/', /wildcard DNS/],
    ['http://7f000001.nip.io/', /wildcard DNS/],
    ['http://10-0-0-1.sslip.io/', /sslip\.io is a wildcard DNS service/],
    ['http://--1.sslip.io/', /wildcard DNS/], // ::1
    ['http://169.254.169.254.xip.io/', /wildcard DNS/],
    ['http://localtest.me/', /wildcard DNS/],
    ['http://anything.lvh.me/', /wildcard DNS/],
    ['http://NIP.IO./', /wildcard DNS/],
    // Any name whose labels spell a non-public IPv4 address, dotted or dashed.
    ['http://192.168.1.1.example.com/', /spells 192\.168\.1\.1 \(192\.168\.0\.0\/16, private\)/],
    ['http://a.169.254.169.254.wild.example.net/', /spells 169\.254\.169\.254/],
    ['http://ip-10-0-0-1.example.com/', /spells 10\.0\.0\.1/],
    ['http://127-0-0-1.customers.example.org/', /spells 127\.0\.0\.1 \(127\.0\.0\.0\/8, loopback\)/],
    // Names that resolve only inside a network.
    ['http://intranet/', /single-label/],
    ['http://metadata.google.internal/', /\.internal names/],
    ['http://printer.local/', /\.local names/],
    ['http://api.localhost/', /\.localhost names/],
    ['http://router.home.arpa/', /\.home\.arpa names/],
    ['http://nas.lan/', /\.lan names/],
    ['http://git.corp/', /\.corp names/],
    // Addresses, in every form the URL parser accepts.
    ['http://2130706433/', /127\.0\.0\.0\/8, loopback/],
    ['http://0x7f.1/', /loopback/],
    ['http://017700000001/', /loopback/],
    ['http://0/', /"this" network/],
    ['http://[::ffff:127.0.0.1]/', /IPv4-mapped of 127\.0\.0\.1/],
    ['http://[2002:7f00:1::]/', /6to4 of 127\.0\.0\.1/],
    ['http://[2001::53]/', /Teredo/],
    ['http://[fec0::1]/', /site-local/],
    ['http://[64:ff9b::a9fe:a9fe]/', /NAT64 of 169\.254\.169\.254/],
    ['http://[fd00:ec2::254]/', /unique-local/], // AWS's IPv6 metadata address
    ['http://198.18.0.1/', /benchmarking/],
    ['http://203.0.113.9/', /documentation/],
    ['http://255.255.255.255/', /broadcast/],
  ])('refuses %s', (url, reason) => {
    expect(refusal(url)).toMatchObject({ refusal: 'private_address', reason: expect.stringMatching(reason) });
  });

  it.each([
    'https://api.example.com/hook',
    'https://8.8.8.8/hook',
    'https://[2606:4700::1111]/hook',
    'https://8-8-8-8.example.com/', // spells a public address
    'https://1.2.3.4.example.com/',
    'https://v1-2-3.example.com/', // three numbers are no address
    'https://build-10-0-0-12345.ci.example.com/', // part of a longer run of digits
    'https://hooks.nip.io.example.com/', // nip.io only as a label, not the zone
    'https://mylocal.dev/',
  ])('accepts %s', (url) => {
    expect(checkOutboundUrl(url, strict).ok).toBe(true);
  });

  it('names each reason with the host', () => {
    expect(nonPublicHostReason('127.0.0.1.nip.io')).toBe('127.0.0.1.nip.io is not a public address (nip.io is a wildcard DNS service: its names resolve to whatever address they spell)');
    expect(nonPublicHostReason('[::1]')).toBe('[::1] is not a public address (::1/128, loopback)');
    expect(nonPublicHostReason('example.com')).toBeNull();
  });
});

describe('ports, credentials and schemes', () => {
  it.each([
    ['http://hooks.example.org:8080/in', 'port', /port 8080/],
    ['https://hooks.example.org:22/', 'port', /port 22/],
    ['https://user:secret@hooks.example.org/in', 'credentials', /credentials/],
    ['https://token@hooks.example.org/in', 'credentials', /credentials/],
    ['https://:pw@hooks.example.org/in', 'credentials', /credentials/],
    ['ftp://example.com/x', 'scheme', /scheme ftp/],
    ['gopher://example.com/x', 'scheme', /scheme gopher/],
    ['file:///etc/passwd', 'scheme', /scheme file/],
    ['not a url', 'malformed', /not a valid absolute URL/],
  ])('refuses %s (%s)', (url, kind, reason) => {
    expect(refusal(url)).toMatchObject({ refusal: kind, reason: expect.stringMatching(reason) });
  });

  it('accepts the default ports written out', () => {
    expect(checkOutboundUrl('https://hooks.example.org:443/in', strict).ok).toBe(true);
    expect(checkOutboundUrl('http://hooks.example.org:80/in', strict).ok).toBe(true);
  });
});

describe("the operator's allowance", () => {
  it('a listed host:port opens that host on that port only', () => {
    const listed = parsePrivateTargetPolicy('127.0.0.1:9000, sink.localhost, hooks.example.org:8443');
    expect(checkOutboundUrl('http://127.0.0.1:9000/hook', listed).ok).toBe(true);
    expect(refusal('http://127.0.0.1:9001/hook', listed)?.refusal).toBe('private_address');
    expect(checkOutboundUrl('http://sink.localhost/any', listed).ok).toBe(true);
    // A host listed without a port keeps the standard ports.
    expect(refusal('http://sink.localhost:8080/in', listed)?.refusal).toBe('port');
    expect(checkOutboundUrl('https://hooks.example.org:8443/in', listed).ok).toBe(true);
    expect(refusal('http://169.254.169.254/', listed)?.refusal).toBe('private_address');
    // Credentials stay refused unless everything is allowed.
    expect(refusal('http://u:p@127.0.0.1:9000/hook', listed)?.refusal).toBe('credentials');
  });

  it('"true" lifts every rule but the scheme', () => {
    const open = parsePrivateTargetPolicy('true');
    expect(checkOutboundUrl('http://user:pw@127.0.0.1.nip.io:9000/hook', open).ok).toBe(true);
    expect(checkOutboundUrl('http://[fe80::1]:8080/', open).ok).toBe(true);
    expect(refusal('file:///etc/passwd', open)?.refusal).toBe('scheme');
  });
});
