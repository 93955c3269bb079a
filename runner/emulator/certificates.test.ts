// The noise certificate chain is really signed: intermediate by the root, leaf by the intermediate.
import { proto } from '@whiskeysockets/baileys';
import { Curve } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { buildServerIdentity } from './certificates.js';
import { signatureIsValid } from './stanzas.js';
import { trustEmulatorRoot } from './trust.js';

describe('certificate chain', () => {
  it('verifies under the emulator root and not under any other key', () => {
    const root = Curve.generateKeyPair();
    const { certChain, noiseStatic } = buildServerIdentity(root);
    const { intermediate, leaf } = proto.CertChain.decode(certChain);
    const inter = proto.CertChain.NoiseCertificate.Details.decode(intermediate!.details!);
    const leafDetails = proto.CertChain.NoiseCertificate.Details.decode(leaf!.details!);
    expect(inter.issuerSerial).toBe(0);
    expect(Buffer.from(leafDetails.key!)).toEqual(Buffer.from(noiseStatic.public));
    expect(signatureIsValid(root.public, intermediate!.details!, intermediate!.signature!)).toBe(true);
    expect(signatureIsValid(inter.key!, leaf!.details!, leaf!.signature!)).toBe(true);
    expect(signatureIsValid(Curve.generateKeyPair().public, intermediate!.details!, intermediate!.signature!)).toBe(false);
  });

  it('the trust hook rejects keys of the wrong size', () => {
    expect(() => trustEmulatorRoot(Buffer.alloc(31))).toThrow(/32 bytes/);
  });
});
