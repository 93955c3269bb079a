// Which IP addresses are not on the public internet: the one table every outbound-URL policy judges
// addresses by (webhook targets and media sources in the Worker). Pure and runtime-neutral.
//
// IPv4 is a list of special-purpose blocks (RFC 6890 and successors). IPv6 is judged the other way
// round: only global unicast (2000::/3) can be public, minus its special blocks; the forms that carry an
// IPv4 address inside (IPv4-mapped, NAT64, 6to4) are judged by that address, so ::ffff:127.0.0.1 and
// 2002:7f00:1:: are loopback.

/** Why an address is not public: its block and what the block is, e.g. "127.0.0.0/8, loopback". */
export type NonPublicRange = string;

type V4Block = readonly [base: number, prefix: number, name: string];

const v4 = (dotted: string, prefix: number, name: string): V4Block => [ipv4ToInt(parseIPv4(dotted)!), prefix, `${dotted}/${prefix}, ${name}`];

// Order matters only for the name given: the first block that matches names the address.
const IPV4_BLOCKS: readonly V4Block[] = [
  v4('0.0.0.0', 8, '"this" network'),
  v4('10.0.0.0', 8, 'private'),
  v4('100.64.0.0', 10, 'carrier-grade NAT'),
  v4('127.0.0.0', 8, 'loopback'),
  v4('169.254.0.0', 16, 'link-local, cloud metadata'),
  v4('172.16.0.0', 12, 'private'),
  v4('192.0.0.0', 24, 'IETF protocol assignments'),
  v4('192.0.2.0', 24, 'documentation'),
  v4('192.88.99.0', 24, '6to4 relay anycast'),
  v4('192.168.0.0', 16, 'private'),
  v4('198.18.0.0', 15, 'benchmarking'),
  v4('198.51.100.0', 24, 'documentation'),
  v4('203.0.113.0', 24, 'documentation'),
  v4('224.0.0.0', 4, 'multicast'),
  v4('255.255.255.255', 32, 'broadcast'),
  v4('240.0.0.0', 4, 'reserved'),
];

/** Strict dotted decimal (what the WHATWG URL parser leaves of any IPv4 form): four bytes, or null. */
export function parseIPv4(text: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const bytes = m.slice(1).map(Number);
  return bytes.every((b) => b <= 255) ? bytes : null;
}

function ipv4ToInt(b: number[]): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

function inBlock(addr: number, [base, prefix]: V4Block): boolean {
  return prefix === 0 || (addr ^ base) >>> (32 - prefix) === 0;
}

/** The non-public block an IPv4 address (four bytes) is in, or null when it is public. */
export function classifyIPv4(bytes: number[]): NonPublicRange | null {
  const addr = ipv4ToInt(bytes);
  return IPV4_BLOCKS.find((block) => inBlock(addr, block))?.[2] ?? null;
}

/** An IPv6 address as eight 16-bit groups (`::` and a trailing dotted IPv4 accepted; no zone), or null. */
export function parseIPv6(text: string): number[] | null {
  let s = text.toLowerCase();
  const tail: number[] = [];
  const dotted = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(s);
  if (dotted) {
    const b = parseIPv4(dotted[2]!);
    if (!b) return null;
    tail.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
    s = dotted[1]!.endsWith('::') ? dotted[1]! : dotted[1]!.slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (![...head, ...rest].every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  const given = head.length + rest.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return null;
  const zeros = new Array<number>(8 - given).fill(0);
  return [...head.map((g) => parseInt(g, 16)), ...zeros, ...rest.map((g) => parseInt(g, 16)), ...tail];
}

/** Whether the first `prefix` bits of `g` equal those of `base` (both as eight groups). */
function hasPrefix(g: number[], base: number[], prefix: number): boolean {
  for (let i = 0; i < 8 && prefix > 0; i++, prefix -= 16) {
    const bits = Math.min(16, prefix);
    const mask = (0xffff << (16 - bits)) & 0xffff;
    if ((g[i]! & mask) !== (base[i]! & mask)) return false;
  }
  return true;
}

const embedded = (hi: number, lo: number) => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];

type V6Block = readonly [base: number[], prefix: number, name: string, carries?: (g: number[]) => number[]];
const v6 = (text: string, prefix: number, name: string, carries?: (g: number[]) => number[]): V6Block => [parseIPv6(text)!, prefix, name, carries];

// Blocks that carry an IPv4 address are judged by it (`carries`); the others are never public.
const IPV6_BLOCKS: readonly V6Block[] = [
  v6('::', 128, '::/128, unspecified'),
  v6('::1', 128, '::1/128, loopback'),
  v6('::ffff:0:0', 96, '::ffff:0:0/96, IPv4-mapped', (g) => embedded(g[6]!, g[7]!)),
  v6('::', 96, '::/96, IPv4-compatible (deprecated)'),
  v6('64:ff9b::', 96, '64:ff9b::/96, NAT64', (g) => embedded(g[6]!, g[7]!)),
  v6('64:ff9b:1::', 48, '64:ff9b:1::/48, local-use NAT64'),
  v6('100::', 64, '100::/64, discard-only'),
  v6('2001::', 32, '2001::/32, Teredo tunnelling'),
  v6('2001:10::', 28, '2001:10::/28, ORCHID (deprecated)'),
  v6('2001:20::', 28, '2001:20::/28, ORCHIDv2'),
  v6('2001:db8::', 32, '2001:db8::/32, documentation'),
  v6('2002::', 16, '2002::/16, 6to4', (g) => embedded(g[1]!, g[2]!)),
  v6('3fff::', 20, '3fff::/20, documentation'),
  v6('fc00::', 7, 'fc00::/7, unique-local'),
  v6('fe80::', 10, 'fe80::/10, link-local'),
  v6('fec0::', 10, 'fec0::/10, site-local (deprecated)'),
  v6('ff00::', 8, 'ff00::/8, multicast'),
];
const GLOBAL_UNICAST = parseIPv6('2000::')!;

/** The non-public block an IPv6 address (eight groups) is in, or null when it is public. */
export function classifyIPv6(groups: number[]): NonPublicRange | null {
  for (const [base, prefix, name, carries] of IPV6_BLOCKS) {
    if (!hasPrefix(groups, base, prefix)) continue;
    if (!carries) return name;
    const inner = carries(groups);
    const range = classifyIPv4(inner);
    return range && `${name} of ${inner.join('.')} (${range})`;
  }
  return hasPrefix(groups, GLOBAL_UNICAST, 3) ? null : 'outside global unicast 2000::/3';
}

/**
 * For an IP literal (dotted IPv4, or IPv6 with or without brackets): the non-public block it is in, or
 * null when it is public. Undefined when `text` is not an IP address at all (a name).
 */
export function classifyAddress(text: string): NonPublicRange | null | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const four = parseIPv4(bare);
  if (four) return classifyIPv4(four);
  if (!bare.includes(':')) return undefined;
  const six = parseIPv6(bare);
  // Something with a colon that is not an address cannot be a host name either: refuse it.
  return six ? classifyIPv6(six) : 'not a valid IPv6 address';
}
