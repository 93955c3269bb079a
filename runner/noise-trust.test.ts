// The certificate checks Baileys lacks, as a unit: each way a chain can be forged is refused with its
// reason, and an honest chain passes. (test/sessions/untrusted-server.test.ts runs them in a real runner
// against an emulator serving such chains.)
import { Curve, proto } from '@whiskeysockets/baileys';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildServerIdentity, forgeCertChain, type CertChainFault } from './emulator/certificates.js';
import { assertHardened, harden, signatureIsValid, UntrustedServerError, verifyCertChain } from './noise-trust.js';

const root = Curve.generateKeyPair();
const identity = buildServerIdentity(root);
const trust = { publicKey: root.public, serial: 0 };
const decoded = (bytes: Uint8Array) => proto.CertChain.decode(bytes);

describe('noise certificate chain', () => {
  it('accepts the honest chain for the server key it vouches for', () => {
    expect(() => verifyCertChain(decoded(identity.certChain), identity.noiseStatic.public, trust)).not.toThrow();
  });

  it.each<[CertChainFault, RegExp]>([
    ['random-signature', /intermediate certificate not signed by the root/],
    ['zero-signature', /intermediate certificate not signed by the root/],
    ['forged-leaf', /leaf certificate not signed by the intermediate/],
    ['foreign-leaf', /leaf certificate is not for the server's key/],
    ['expired', /certificate expired/],
    ['not-yet-valid', /certificate not valid yet/],
    ['wrong-issuer', /leaf certificate issued by another intermediate/],
  ])('refuses a chain with %s', (fault, reason) => {
    const chain = forgeCertChain(identity, fault);
    expect(() => verifyCertChain(decoded(chain), identity.noiseStatic.public, trust)).toThrow(reason);
    expect(() => verifyCertChain(decoded(chain), identity.noiseStatic.public, trust)).toThrow(UntrustedServerError);
  });

  it('refuses an honest chain under another root, and a chain replayed by a server with another key', () => {
    const other = { publicKey: Curve.generateKeyPair().public, serial: 0 };
    expect(() => verifyCertChain(decoded(identity.certChain), identity.noiseStatic.public, other)).toThrow(/not signed by the root/);
    expect(() => verifyCertChain(decoded(identity.certChain), Curve.generateKeyPair().public, trust)).toThrow(/not for the server's key/);
  });

  it("hardens Baileys' own Curve.verify, which otherwise accepts any signature", () => {
    const pair = Curve.generateKeyPair();
    const message = randomBytes(16);
    const forged = randomBytes(64);
    expect(signatureIsValid(pair.public, message, forged)).toBe(false);
    expect(Curve.verify(pair.public, message, forged)).toBe(true); // the flaw, as shipped
    expect(() => assertHardened()).toThrow(/accepts forged signatures/);
    harden();
    expect(Curve.verify(pair.public, message, forged)).toBe(false);
    expect(Curve.verify(pair.public, message, Curve.sign(pair.private, message))).toBe(true);
    expect(() => assertHardened()).not.toThrow();
  });
});
