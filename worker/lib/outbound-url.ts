// The rules for a URL a tenant makes the Worker fetch (webhook targets, media sources): http(s) only, a
// public host (protocol/address-ranges.ts for addresses, ./private-names.ts for names), ports 80 and 443
// only (other ports reach other services of a host: admin panels, databases), no credentials in the URL.
// Each use has its own operator allowance (ALLOW_PRIVATE_WEBHOOK_TARGETS, ALLOW_PRIVATE_MEDIA_SOURCES),
// so opening one for local development does not open the other.
//
// Host names are judged as written: the WHATWG URL parser has already normalised numeric forms such as
// http://2130706433/ or http://0x7f.1/ to 127.0.0.1, and IPv6 to its canonical text. What a public name
// resolves to is not known here (no resolver in Workers): docs/security.md says what covers that.
import { classifyAddress } from '../../protocol/address-ranges';
import { privateNameReason } from './private-names';

/** The operator's allowance: "true"/"1"/"*"/"yes" lifts every rule but the scheme; else a list of host or host:port. */
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

/** Which rule refused a URL, for clients to branch on (`details.reason` of the 400). */
export type UrlRefusal = 'malformed' | 'scheme' | 'private_address' | 'port' | 'credentials';

export type UrlVerdict = { ok: true; url: URL } | { ok: false; refusal: UrlRefusal; reason: string };

const refuse = (refusal: UrlRefusal, reason: string): UrlVerdict => ({ ok: false, refusal, reason });

/** Why a host (as the URL parser wrote it, lowercase) is not a public address, or null. */
export function nonPublicHostReason(hostname: string): string | null {
  const host = hostname.replace(/\.$/, '');
  const range = classifyAddress(host);
  if (range !== undefined) return range && `${hostname} is not a public address (${range})`;
  const named = privateNameReason(host);
  return named && `${hostname} is not a public address (${named})`;
}

export function checkOutboundUrl(raw: string, policy: PrivateTargetPolicy): UrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('malformed', 'not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return refuse('scheme', `scheme ${url.protocol.replace(':', '')} is not allowed; use http or https`);
  }
  const host = url.hostname.toLowerCase();
  if (!host) return refuse('malformed', 'the URL has no host');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const listedWithPort = policy.allowed.has(`${host}:${port}`);
  const listed = listedWithPort || policy.allowed.has(host);
  const nonPublic = nonPublicHostReason(host);
  if (nonPublic && !(policy.allowAll || listed)) return refuse('private_address', nonPublic);
  // A host listed without a port keeps the standard ports.
  if (url.port && !(policy.allowAll || listedWithPort)) return refuse('port', `port ${url.port} is not allowed; use 80 or 443`);
  if ((url.username || url.password) && !policy.allowAll) return refuse('credentials', 'URLs with credentials are not allowed');
  return { ok: true, url };
}
