// Decides whether a tenant may point webhooks at a URL. Only http(s), and never at private, loopback,
// link-local or otherwise internal addresses (SSRF: e.g. cloud metadata at 169.254.169.254), unless the
// operator allows them for local development with ALLOW_PRIVATE_WEBHOOK_TARGETS.
//
// Only ports 80 and 443, and no credentials in the URL, unless the policy allows them (a listed host:port,
// or "true" for local development). Checked when a URL is configured and again before every delivery.
//
// Host names are checked as written; the WHATWG URL parser has already normalised numeric forms such as
// http://2130706433/ or http://0x7f.1/ to 127.0.0.1. Names that merely resolve to a private address
// cannot be checked without DNS here: Workers have no resolver API, and their fetch() never reaches
// private networks, loopback or the metadata address (Cloudflare connects from its edge, where those do
// not route to your infrastructure).

export type WebhookUrlVerdict = { ok: true; url: string } | { ok: false; reason: string };

const INTERNAL_NAMES = [/^localhost$/, /\.localhost$/, /\.local$/, /\.internal$/, /\.home\.arpa$/, /^metadata\.google\.internal$/];

/** Parsed `ALLOW_PRIVATE_WEBHOOK_TARGETS`: "true"/"1"/"*" allows any, else a list of host or host:port. */
export interface PrivateTargetPolicy {
  allowAll: boolean;
  allowed: Set<string>;
}

export function parsePrivateTargetPolicy(value: string | undefined): PrivateTargetPolicy {
  const v = (value ?? '').trim();
  if (['true', '1', '*', 'yes'].includes(v.toLowerCase())) return { allowAll: true, allowed: new Set() };
  const allowed = new Set(
    v
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  return { allowAll: false, allowed };
}

export function checkWebhookUrl(raw: string, policy: PrivateTargetPolicy): WebhookUrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'not a valid absolute URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, reason: `scheme ${url.protocol.replace(':', '')} is not allowed; use http or https` };
  }
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (!host) return { ok: false, reason: 'the URL has no host' };
  const hostPort = `${url.hostname.toLowerCase()}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
  const listed = policy.allowed.has(hostPort);
  if (isInternalHost(host) && !(policy.allowAll || listed || policy.allowed.has(url.hostname.toLowerCase()))) {
    return { ok: false, reason: `${url.hostname} is a private, loopback or link-local address` };
  }
  // Other ports reach other services of a host (admin panels, databases): only 80 and 443, unless allowed.
  if (url.port && !(policy.allowAll || listed)) return { ok: false, reason: `port ${url.port} is not allowed; use 80 or 443` };
  if ((url.username || url.password) && !policy.allowAll) return { ok: false, reason: 'URLs with credentials are not allowed' };
  return { ok: true, url: url.toString() };
}

export function isInternalHost(host: string): boolean {
  if (host.startsWith('[') && host.endsWith(']')) return isInternalIPv6(host.slice(1, -1));
  const v4 = parseIPv4(host);
  if (v4) return isInternalIPv4(v4);
  if (!host.includes('.')) return true; // single-label names only resolve inside a network
  return INTERNAL_NAMES.some((re) => re.test(host));
}

function parseIPv4(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : null;
}

function isInternalIPv4([a, b]: number[]): boolean {
  if (a === undefined || b === undefined) return true;
  return (
    a === 0 || // "this" network
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) || // IETF protocol assignments
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a >= 224 // multicast, reserved, broadcast
  );
}

function isInternalIPv6(addr: string): boolean {
  const a = addr.toLowerCase();
  if (a === '::' || a === '::1') return true;
  // IPv4-mapped / -compatible forms (the URL parser writes them in hex: ::ffff:7f00:1).
  const mapped = /^::(ffff:)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
  if (mapped) {
    const hi = parseInt(mapped[2]!, 16);
    const lo = parseInt(mapped[3]!, 16);
    return isInternalIPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  }
  if (a.startsWith('::ffff:')) return true;
  const first = parseInt(a.split(':')[0] || '0', 16);
  return (
    (first & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (first & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (first & 0xff00) === 0xff00 || // multicast
    first === 0x0064 || // NAT64 64:ff9b::/96 can embed private v4
    a.startsWith('2001:db8:') // documentation
  );
}
