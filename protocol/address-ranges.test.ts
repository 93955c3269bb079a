// The address table every outbound-URL policy uses: each non-public block, and the public addresses
// just outside it on either side.
import { describe, expect, it } from 'vitest';
import { classifyAddress, parseIPv6 } from './address-ranges';

describe('IPv4', () => {
  // [first address of the block, last address, the public address just below, just above]
  it.each([
    ['0.0.0.0', '0.255.255.255', null, '1.0.0.0', '"this" network'],
    ['10.0.0.0', '10.255.255.255', '9.255.255.255', '11.0.0.0', 'private'],
    ['100.64.0.0', '100.127.255.255', '100.63.255.255', '100.128.0.0', 'carrier-grade NAT'],
    ['127.0.0.0', '127.255.255.255', '126.255.255.255', '128.0.0.0', 'loopback'],
    ['169.254.0.0', '169.254.255.255', '169.253.255.255', '169.255.0.0', 'link-local'],
    ['172.16.0.0', '172.31.255.255', '172.15.255.255', '172.32.0.0', 'private'],
    ['192.0.0.0', '192.0.0.255', '191.255.255.255', '192.0.1.0', 'IETF protocol assignments'],
    ['192.0.2.0', '192.0.2.255', '192.0.1.255', '192.0.3.0', 'documentation'],
    ['192.88.99.0', '192.88.99.255', '192.88.98.255', '192.88.100.0', '6to4 relay'],
    ['192.168.0.0', '192.168.255.255', '192.167.255.255', '192.169.0.0', 'private'],
    ['198.18.0.0', '198.19.255.255', '198.17.255.255', '198.20.0.0', 'benchmarking'],
    ['198.51.100.0', '198.51.100.255', '198.51.99.255', '198.51.101.0', 'documentation'],
    ['203.0.113.0', '203.0.113.255', '203.0.112.255', '203.0.114.0', 'documentation'],
    ['224.0.0.0', '239.255.255.255', '223.255.255.255', null, 'multicast'],
    ['240.0.0.0', '255.255.255.254', null, null, 'reserved'],
  ])('%s to %s is not public; the neighbours %s and %s are', (first, last, below, above, name) => {
    expect(classifyAddress(first)).toContain(name);
    expect(classifyAddress(last)).toContain(name);
    if (below) expect(classifyAddress(below)).toBeNull();
    if (above) expect(classifyAddress(above)).toBeNull();
  });

  it('names the block, and knows broadcast', () => {
    expect(classifyAddress('169.254.169.254')).toBe('169.254.0.0/16, link-local, cloud metadata');
    expect(classifyAddress('255.255.255.255')).toBe('255.255.255.255/32, broadcast');
  });

  it.each(['8.8.8.8', '1.1.1.1', '93.184.215.14', '223.255.255.255'])('%s is public', (ip) => {
    expect(classifyAddress(ip)).toBeNull();
  });
});

describe('IPv6', () => {
  it('parses every textual form to eight groups', () => {
    expect(parseIPv6('::')).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseIPv6('::1')).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIPv6('2001:DB8::8:800:200C:417A')).toEqual([0x2001, 0xdb8, 0, 0, 8, 0x800, 0x200c, 0x417a]);
    expect(parseIPv6('::ffff:127.0.0.1')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    expect(parseIPv6('1:2:3:4:5:6:7:8')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const bad of ['1:2:3', '1::2::3', '12345::', 'g::1', '1:2:3:4:5:6:7:8:9', '::1.2.3.256']) expect(parseIPv6(bad), bad).toBeNull();
  });

  it.each([
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'IPv4-mapped of 127.0.0.1 (127.0.0.0/8, loopback)'],
    ['::ffff:a9fe:a9fe', 'IPv4-mapped of 169.254.169.254'],
    ['::7f00:1', 'IPv4-compatible'],
    ['::8.8.8.8', 'IPv4-compatible'],
    ['::ffff:0:8.8.8.8', 'outside global unicast'], // IPv4-translated (RFC 2765)
    ['64:ff9b::10.0.0.1', 'NAT64 of 10.0.0.1 (10.0.0.0/8, private)'],
    ['64:ff9b:1::1', 'local-use NAT64'],
    ['100::1', 'discard-only'],
    ['2001::1', 'Teredo'],
    ['2001:0:ffff:ffff:ffff:ffff:ffff:ffff', 'Teredo'],
    ['2001:10::1', 'ORCHID'],
    ['2001:20::1', 'ORCHIDv2'],
    ['2001:db8::1', 'documentation'],
    ['2002:7f00:1::', '6to4 of 127.0.0.1'],
    ['2002:c0a8:101::1', '6to4 of 192.168.1.1'],
    ['2002:a9fe:a9fe::', '6to4 of 169.254.169.254'],
    ['3fff::1', 'documentation'],
    ['fc00::1', 'unique-local'],
    ['fdff:ffff::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fec0::1', 'site-local'],
    ['feff::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['1fff:ffff::1', 'outside global unicast'],
    ['4000::1', 'outside global unicast'],
  ])('%s is not public (%s)', (ip, name) => {
    expect(classifyAddress(`[${ip}]`)).toContain(name);
  });

  it.each([
    '2606:4700::1111', // Cloudflare DNS
    '2001:4860:4860::8888', // Google DNS
    '2000::1', // first of global unicast
    '3ffe:ffff::1', // just below 3fff::/20
    '2001:1::1', // just past Teredo's /32
    '2001:db9::1', // just past documentation
    '2002:808:808::1', // 6to4 of a public address
    '64:ff9b::8.8.8.8', // NAT64 of a public address
    '::ffff:8.8.8.8', // IPv4-mapped public address
  ])('%s is public', (ip) => {
    expect(classifyAddress(`[${ip}]`)).toBeNull();
  });
});

it('tells names from addresses', () => {
  expect(classifyAddress('example.com')).toBeUndefined();
  expect(classifyAddress('127.0.0.1.nip.io')).toBeUndefined();
  expect(classifyAddress('[not:an:address]')).toBe('not a valid IPv6 address');
});
