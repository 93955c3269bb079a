// Makes Baileys check who it is talking to. Baileys 7.0.0-rc14 trusts any server:
//   - its Curve.verify returns true whenever libsignal does not throw, but libsignal *returns* false for a
//     bad signature, so every certificate signature (and the account signature at pairing) passes;
//   - its noise handshake never checks that the leaf certificate vouches for the server's static key (so
//     WhatsApp's own, public, chain replayed by a server holding another key passes), nor the leaf's issuer
//     serial, nor validity dates.
// harden() fixes both in this process, before any socket opens: Curve.verify becomes a real check, and the
// certificate chain is verified in full as Baileys decodes it (proto.CertChain.decode). The chain is
// checked against Baileys' WA_CERT_DETAILS (WhatsApp's root, or WA_TRUST_ROOT's when configured).
// assertHardened() is the start-up self-test: a runner where the fix did not take must not run.
import { Curve, WA_CERT_DETAILS, proto } from '@whiskeysockets/baileys';
import * as curve from 'libsignal/src/curve.js';
import { randomBytes } from 'node:crypto';

/** Why a server was refused; the close code the session reports as `untrusted_server`. */
export const UNTRUSTED_SERVER_CODE = 495;

export class UntrustedServerError extends Error {
  /** The shape Baileys' Boom errors have, so the close reaches the session with this code. */
  readonly output = { statusCode: UNTRUSTED_SERVER_CODE, payload: { statusCode: UNTRUSTED_SERVER_CODE, error: 'Untrusted Server', message: '' } };
  readonly isBoom = true;
  constructor(reason: string) {
    super(`untrusted WhatsApp server: ${reason}`);
    this.output.payload.message = this.message;
  }
}

/** A real Curve25519 (XEdDSA) signature check: true only for a valid signature by `publicKey`. */
export const signatureIsValid = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean => {
  try {
    const pub = publicKey.length === 33 ? publicKey : Buffer.concat([Buffer.from([5]), publicKey]);
    return curve.verifySignature(pub, message, signature) === true;
  } catch {
    return false;
  }
};

type Details = { serial?: number | null; issuerSerial?: number | null; key?: Uint8Array | null; notBefore?: unknown; notAfter?: unknown };
type Certificate = { details?: Uint8Array | null; signature?: Uint8Array | null };
const decodeDetails = (bytes: Uint8Array): Details => proto.CertChain.NoiseCertificate.Details.decode(bytes) as Details;
/** uint64 fields arrive as numbers or Long objects; 0 when absent. */
const seconds = (v: unknown): number => (v === null || v === undefined ? 0 : Number(typeof v === 'object' ? String(v) : v));

/**
 * Checks a server's certificate chain: the intermediate signed by the root and issued by its serial, the
 * leaf signed by the intermediate and issued by its serial, the leaf's key equal to the server's static key,
 * and both within their validity dates when they carry them. Throws UntrustedServerError otherwise.
 */
export function verifyCertChain(
  chain: { intermediate?: Certificate | null; leaf?: Certificate | null },
  serverStatic: Uint8Array | undefined,
  root: { publicKey: Uint8Array; serial: number },
  nowSeconds = Math.floor(Date.now() / 1000),
): void {
  const { intermediate, leaf } = chain;
  if (!intermediate?.details || !intermediate.signature || !leaf?.details || !leaf.signature) throw new UntrustedServerError('incomplete certificate chain');
  if (!signatureIsValid(root.publicKey, intermediate.details, intermediate.signature)) throw new UntrustedServerError('intermediate certificate not signed by the root');
  const inter = decodeDetails(intermediate.details);
  if ((inter.issuerSerial ?? 0) !== root.serial) throw new UntrustedServerError('intermediate certificate issued by another root');
  if (!inter.key || inter.key.length !== 32) throw new UntrustedServerError('intermediate certificate has no key');
  if (!signatureIsValid(inter.key, leaf.details, leaf.signature)) throw new UntrustedServerError('leaf certificate not signed by the intermediate');
  const leafDetails = decodeDetails(leaf.details);
  if ((leafDetails.issuerSerial ?? 0) !== (inter.serial ?? 0)) throw new UntrustedServerError('leaf certificate issued by another intermediate');
  if (!serverStatic || !leafDetails.key || !Buffer.from(leafDetails.key).equals(Buffer.from(serverStatic))) {
    throw new UntrustedServerError("leaf certificate is not for the server's key");
  }
  for (const [name, d] of [['intermediate', inter], ['leaf', leafDetails]] as const) {
    const notBefore = seconds(d.notBefore);
    const notAfter = seconds(d.notAfter);
    if (notBefore && nowSeconds < notBefore) throw new UntrustedServerError(`${name} certificate not valid yet`);
    if (notAfter && nowSeconds > notAfter) throw new UntrustedServerError(`${name} certificate expired`);
  }
}

let hardened = false;

/**
 * Installs the checks (once per process). The server's static key is the peer key of the last Curve
 * agreement before the chain is decoded: Baileys' processHandshake computes sharedKey(ephemeral, static),
 * decrypts the payload and decodes the chain in one synchronous run, so nothing else runs in between.
 */
export function harden(): void {
  if (hardened) return;
  hardened = true;
  const curveApi = Curve as { verify: typeof Curve.verify; sharedKey: typeof Curve.sharedKey };
  curveApi.verify = (publicKey, message, signature) => signatureIsValid(publicKey, message, signature);

  let lastPeerKey: Uint8Array | undefined;
  const sharedKey = curveApi.sharedKey;
  curveApi.sharedKey = (privateKey, publicKey) => {
    lastPeerKey = publicKey;
    return sharedKey(privateKey, publicKey);
  };

  const certChain = proto.CertChain as { decode: typeof proto.CertChain.decode };
  const decode = certChain.decode.bind(proto.CertChain);
  certChain.decode = ((reader: Parameters<typeof decode>[0], length?: number) => {
    const chain = decode(reader, length);
    const serverStatic = lastPeerKey;
    lastPeerKey = undefined;
    verifyCertChain(chain, serverStatic, { publicKey: WA_CERT_DETAILS.PUBLIC_KEY, serial: WA_CERT_DETAILS.SERIAL });
    return chain;
  }) as typeof decode;
}

/** Start-up self-test: refuses to go on unless Baileys' checks now reject what they used to accept. */
export function assertHardened(): void {
  const pair = Curve.generateKeyPair();
  const message = randomBytes(32);
  const good = Curve.sign(pair.private, message);
  if (!Curve.verify(pair.public, message, good)) throw new Error('signature self-test failed: a valid signature was refused');
  if (Curve.verify(pair.public, message, randomBytes(64)) || Curve.verify(pair.public, message, Buffer.alloc(64))) {
    throw new Error('signature self-test failed: Baileys accepts forged signatures (Curve.verify is not hardened)');
  }
  const forged = proto.CertChain.encode({ intermediate: { details: randomBytes(40), signature: randomBytes(64) }, leaf: { details: randomBytes(40), signature: randomBytes(64) } }).finish();
  let refused = false;
  try {
    proto.CertChain.decode(forged);
  } catch (e) {
    refused = e instanceof UntrustedServerError;
  }
  if (!refused) throw new Error('certificate self-test failed: a forged noise certificate chain was accepted');
}
