// The media host's TLS identity. Baileys reaches media hosts over https only, so the emulator runs
// its own certificate authority: a CA (kept across restarts with the emulator's state) and a server
// certificate for the media host, signed by it at every start. The CA's PEM is what a runner trusts
// (WA_MEDIA_CA) for Baileys' media traffic, and nothing else.
//
// Certificates are built here as DER with node:crypto (ECDSA P-256, SHA-256): no openssl binary, no
// dependency. Only what TLS clients check is encoded: names, validity, key usages, SANs, key ids.
import { X509Certificate, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

export type MediaCa = { certPem: string; keyPem: string };
export type ServerCertificate = { certPem: string; keyPem: string };

const CA_NAME = 'Switchboard WhatsApp emulator media CA';
const DAY_MS = 86_400_000;

// --- DER -------------------------------------------------------------------------------------------

const length = (n: number): Buffer => {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
};
const tlv = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
};
const seq = (...parts: Buffer[]) => tlv(0x30, ...parts);
const set = (...parts: Buffer[]) => tlv(0x31, ...parts);
const explicit = (n: number, inner: Buffer) => tlv(0xa0 + n, inner);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.from([unused]), b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const integer = (b: Buffer) => {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return tlv(0x02, v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
};
const oid = (dotted: string) => {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const out = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
};
/** UTCTime (YYMMDDHHMMSSZ) through 2049, GeneralizedTime after, as RFC 5280 asks. */
const time = (d: Date) => {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
};

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const name = (cn: string) => seq(set(seq(oid('2.5.4.3'), utf8(cn))));
const extension = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

/** SHA-1 of the subjectPublicKey bits: the usual key identifier (RFC 5280 4.2.1.2, method 1). */
const keyId = (publicKey: KeyObject) => {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // The EC point is the BIT STRING at the end of the SPKI; P-256 uncompressed points are 65 bytes.
  return createHash('sha1').update(spki.subarray(spki.length - 65)).digest();
};

const certificate = (opts: {
  subject: string;
  issuer: string;
  publicKey: KeyObject;
  signingKey: KeyObject;
  issuerKey: KeyObject;
  days: number;
  extensions: Buffer[];
}): string => {
  const now = Date.now();
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(Buffer.concat([Buffer.from([0x40 | (randomBytes(1)[0]! & 0x3f)]), randomBytes(15)])),
    ECDSA_SHA256,
    name(opts.issuer),
    seq(time(new Date(now - DAY_MS)), time(new Date(now + opts.days * DAY_MS))),
    name(opts.subject),
    opts.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...opts.extensions, extension('2.5.29.35', false, seq(tlv(0x80, keyId(opts.issuerKey)))))),
  );
  const der = seq(tbs, ECDSA_SHA256, bits(sign('sha256', tbs, opts.signingKey)));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
};

const p256 = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const pkcs8 = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }) as string;

/** A new certificate authority (10 years: it is kept in the emulator's data file). */
export const createMediaCa = (): MediaCa => {
  const { publicKey, privateKey } = p256();
  const certPem = certificate({
    subject: CA_NAME,
    issuer: CA_NAME,
    publicKey,
    signingKey: privateKey,
    issuerKey: publicKey,
    days: 3650,
    extensions: [
      extension('2.5.29.19', true, seq(bool(true))), // basicConstraints: CA
      extension('2.5.29.15', true, bits(Buffer.from([0x06]), 1)), // keyUsage: keyCertSign, cRLSign
      extension('2.5.29.14', false, octets(keyId(publicKey))), // subjectKeyIdentifier
    ],
  });
  return { certPem, keyPem: pkcs8(privateKey) };
};

/** A server certificate for `hosts` (IP addresses and DNS names), signed by the CA. */
export const issueServerCertificate = (ca: MediaCa, hosts: string[]): ServerCertificate => {
  const caKey = createPrivateKey(ca.keyPem);
  const { publicKey, privateKey } = p256();
  const names = [...new Set(hosts)].map(h => {
    const family = isIP(h);
    if (family === 4) return tlv(0x87, Buffer.from(h.split('.').map(Number)));
    if (family === 6) return tlv(0x87, ipv6Bytes(h));
    return tlv(0x82, Buffer.from(h, 'ascii'));
  });
  const certPem = certificate({
    subject: hosts[0] ?? 'localhost',
    issuer: CA_NAME,
    publicKey,
    signingKey: caKey,
    issuerKey: createPublicKey(caKey),
    days: 825,
    extensions: [
      extension('2.5.29.19', true, seq()), // basicConstraints: not a CA
      extension('2.5.29.15', true, bits(Buffer.from([0x80]), 7)), // keyUsage: digitalSignature
      extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage: serverAuth
      extension('2.5.29.17', false, seq(...names)), // subjectAltName
    ],
  });
  return { certPem, keyPem: pkcs8(privateKey) };
};

const ipv6Bytes = (ip: string): Buffer => {
  const [head, tail = ''] = ip.split('::') as [string, string?];
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') && tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.from(groups.flatMap(g => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
};

/** Whether a PEM is a usable CA certificate (for loading a saved CA). */
export const isValidCa = (ca: MediaCa | undefined): ca is MediaCa => {
  if (!ca?.certPem || !ca.keyPem) return false;
  try {
    const cert = new X509Certificate(ca.certPem);
    return cert.ca && Date.parse(cert.validTo) > Date.now() + 30 * DAY_MS && cert.checkPrivateKey(createPrivateKey(ca.keyPem));
  } catch {
    return false;
  }
};
