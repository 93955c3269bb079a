// Host names known, without asking DNS, to lead to a non-public address: names that only resolve inside
// a network (localhost, *.internal, single labels), wildcard DNS services that answer whatever address
// a name spells (127.0.0.1.nip.io, 10-0-0-1.sslip.io), and any name whose labels spell a non-public
// IPv4 address, dotted or dashed (a private wildcard zone works like nip.io). The Worker has no resolver,
// so this is what can be known from the name alone; docs/security.md says what covers the rest.
import { classifyIPv4, parseIPv4 } from '../../protocol/address-ranges';

/** Suffixes of names that resolve only inside a network (special-use and never-delegated TLDs). */
const INTERNAL_SUFFIXES = ['localhost', 'local', 'internal', 'home.arpa', 'arpa', 'localdomain', 'lan', 'intranet', 'corp', 'home', 'private', 'test', 'invalid'];

/**
 * Public wildcard DNS services: every name under them resolves to the address it spells (or to
 * 127.0.0.1 whatever it spells), so any name there can lead anywhere, loopback included.
 */
const WILDCARD_DNS = ['nip.io', 'sslip.io', 'xip.io', 'nip.direct', 'localtest.me', 'lvh.me', 'vcap.me', 'lacolhost.com', 'traefik.me', 'localhost.direct', 'localho.st', 'fuf.me'];

const under = (host: string, suffix: string) => host === suffix || host.endsWith(`.${suffix}`);

/** Four byte values, dash-separated, not inside a longer run of digits: "10-0-0-1", "ip-10-0-0-1". */
const DASHED_IPV4 = /(?:^|[^0-9])(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})(?![0-9])/g;

/** The non-public IPv4 address a name's labels spell (and its block), if any. */
function spelledAddress(labels: string[]): { address: string; range: string } | undefined {
  for (let i = 0; i + 4 <= labels.length; i++) {
    const dotted = labels.slice(i, i + 4).join('.');
    const bytes = parseIPv4(dotted);
    const range = bytes && classifyIPv4(bytes);
    if (range) return { address: dotted, range };
  }
  for (const label of labels) {
    for (const m of label.matchAll(DASHED_IPV4)) {
      const bytes = parseIPv4(m.slice(1, 5).join('.'));
      const range = bytes && classifyIPv4(bytes);
      if (range) return { address: bytes.join('.'), range };
    }
  }
  return undefined;
}

/**
 * Why a host name (not an IP literal; lowercase, no trailing dot) leads to a non-public address, or
 * null when nothing in the name says so.
 */
export function privateNameReason(host: string): string | null {
  const labels = host.split('.');
  if (labels.length === 1) return 'a single-label name, which resolves only inside a network';
  const internal = INTERNAL_SUFFIXES.find((s) => under(host, s));
  if (internal) return `.${internal} names resolve only inside a network`;
  const wildcard = WILDCARD_DNS.find((s) => under(host, s));
  if (wildcard) return `${wildcard} is a wildcard DNS service: its names resolve to whatever address they spell`;
  const spelled = spelledAddress(labels);
  if (spelled) return `the name spells ${spelled.address} (${spelled.range})`;
  return null;
}
