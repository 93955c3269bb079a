// The emulator's certificate chain: root key → intermediate (issuerSerial 0) → leaf (the server's
// static noise key). A client trusts this chain only after trust.ts installs our root public key (and
// checks it fully once noise-trust.ts hardened Baileys). forgeCertChain builds the dishonest variants a
// hostile server would serve, for the `cert-chain` fault.
import { Curve, proto } from '@whiskeysockets/baileys';
import { randomBytes } from 'node:crypto';
import type { KeyPair } from './noise.js';

export type ServerIdentity = {
  root: KeyPair;
  intermediate: KeyPair;
  /** Server's static noise key; the leaf certificate vouches for it. */
  noiseStatic: KeyPair;
  certChain: Uint8Array;
};

/** Ways a served chain can be dishonest. */
export const certChainFaults = ['random-signature', 'zero-signature', 'forged-leaf', 'foreign-leaf', 'expired', 'not-yet-valid', 'wrong-issuer'] as const;
export type CertChainFault = (typeof certChainFaults)[number];

const YEAR_S = 365 * 24 * 3600;

type ChainSpec = {
  leafKey: Uint8Array;
  /** Validity of both certificates, in seconds since the epoch. */
  notBefore: number;
  notAfter: number;
  leafIssuerSerial: number;
  intermediateSignature?: Uint8Array;
  leafSignature?: Uint8Array;
};

const signChain = (root: KeyPair, intermediate: KeyPair, spec: ChainSpec): Uint8Array => {
  const intermediateDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 1,
    issuerSerial: 0,
    key: intermediate.public,
    notBefore: spec.notBefore,
    notAfter: spec.notAfter + 9 * YEAR_S,
  }).finish();
  const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 2,
    issuerSerial: spec.leafIssuerSerial,
    key: spec.leafKey,
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
  }).finish();
  return proto.CertChain.encode({
    intermediate: { details: intermediateDetails, signature: spec.intermediateSignature ?? Curve.sign(root.private, intermediateDetails) },
    leaf: { details: leafDetails, signature: spec.leafSignature ?? Curve.sign(intermediate.private, leafDetails) },
  }).finish();
};

const honest = (identity: Pick<ServerIdentity, 'noiseStatic'>): ChainSpec => {
  const now = Math.floor(Date.now() / 1000);
  return { leafKey: identity.noiseStatic.public, notBefore: now - 3600, notAfter: now + YEAR_S, leafIssuerSerial: 1 };
};

export const buildServerIdentity = (root: KeyPair): ServerIdentity => {
  const intermediate = Curve.generateKeyPair();
  const noiseStatic = Curve.generateKeyPair();
  return { root, intermediate, noiseStatic, certChain: signChain(root, intermediate, honest({ noiseStatic })) };
};

/** The chain a dishonest server would serve instead of the identity's honest one. */
export const forgeCertChain = (identity: ServerIdentity, fault: CertChainFault): Uint8Array => {
  const spec = honest(identity);
  const now = Math.floor(Date.now() / 1000);
  switch (fault) {
    case 'random-signature':
      return signChain(identity.root, identity.intermediate, { ...spec, intermediateSignature: randomBytes(64) });
    case 'zero-signature':
      return signChain(identity.root, identity.intermediate, { ...spec, intermediateSignature: Buffer.alloc(64) });
    case 'forged-leaf':
      return signChain(identity.root, identity.intermediate, { ...spec, leafSignature: randomBytes(64) });
    case 'foreign-leaf':
      // A genuine, correctly signed leaf, but for some other server's key.
      return signChain(identity.root, identity.intermediate, { ...spec, leafKey: Curve.generateKeyPair().public });
    case 'expired':
      return signChain(identity.root, identity.intermediate, { ...spec, notBefore: now - 2 * YEAR_S, notAfter: now - 24 * 3600 });
    case 'not-yet-valid':
      return signChain(identity.root, identity.intermediate, { ...spec, notBefore: now + 24 * 3600, notAfter: now + YEAR_S });
    case 'wrong-issuer':
      return signChain(identity.root, identity.intermediate, { ...spec, leafIssuerSerial: 7 });
  }
};
