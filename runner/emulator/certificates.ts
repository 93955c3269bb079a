// The emulator's certificate chain: root key → intermediate (issuerSerial 0) → leaf (the server's
// static noise key). Baileys checks the intermediate against WA_CERT_DETAILS.PUBLIC_KEY, so a
// client trusts this chain only after trust.ts installs our root public key.
import { Curve, proto } from '@whiskeysockets/baileys';
import type { KeyPair } from './noise.js';

export type ServerIdentity = {
  root: KeyPair;
  /** Server's static noise key; the leaf certificate vouches for it. */
  noiseStatic: KeyPair;
  certChain: Uint8Array;
};

const YEAR_S = 365 * 24 * 3600;

export const buildServerIdentity = (root: KeyPair): ServerIdentity => {
  const intermediate = Curve.generateKeyPair();
  const noiseStatic = Curve.generateKeyPair();
  const now = Math.floor(Date.now() / 1000);
  const intermediateDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 1,
    issuerSerial: 0,
    key: intermediate.public,
    notBefore: now - 3600,
    notAfter: now + 10 * YEAR_S,
  }).finish();
  const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 2,
    issuerSerial: 1,
    key: noiseStatic.public,
    notBefore: now - 3600,
    notAfter: now + YEAR_S,
  }).finish();
  const certChain = proto.CertChain.encode({
    intermediate: { details: intermediateDetails, signature: Curve.sign(root.private, intermediateDetails) },
    leaf: { details: leafDetails, signature: Curve.sign(intermediate.private, leafDetails) },
  }).finish();
  return { root, noiseStatic, certChain };
};
