// Trust hooks: the one place that makes Baileys (in this process) accept the emulator's noise
// certificate chain, and its sockets accept the emulator's media host certificate. Call them only
// when the runner is configured for the emulator / sandbox; a runner pointed at WhatsApp never does,
// so the real roots stay in place by default.
import { WA_CERT_DETAILS, type UserFacingSocketConfig } from '@whiskeysockets/baileys';
import { Agent as HttpsAgent } from 'node:https';
import tls from 'node:tls';
import { Agent as UndiciAgent } from 'undici';

/** Makes Baileys verify noise certificates against `rootPublicKey` (32-byte raw key or its base64). */
export const trustEmulatorRoot = (rootPublicKey: Uint8Array | string): void => {
  const key = typeof rootPublicKey === 'string' ? Buffer.from(rootPublicKey, 'base64') : Buffer.from(rootPublicKey);
  if (key.length !== 32) throw new Error(`emulator root public key must be 32 bytes, got ${key.length}`);
  // WA_CERT_DETAILS is a plain exported object shared by every Baileys socket in this process.
  (WA_CERT_DETAILS as { PUBLIC_KEY: Buffer }).PUBLIC_KEY = key;
};

/** Reads WA_TRUST_ROOT (base64) and trusts it when set; returns whether it did. */
export const trustEmulatorRootFromEnv = (env: NodeJS.ProcessEnv = process.env): boolean => {
  const root = env.WA_TRUST_ROOT;
  if (!root) return false;
  trustEmulatorRoot(root);
  return true;
};

/**
 * Baileys socket options that make its media traffic trust `caPem` (the emulator's media CA, WA_MEDIA_CA)
 * besides the default roots: uploads go through `fetchAgent` (node:https), downloads (media, history
 * blobs) through fetch with `options.dispatcher`. TLS verification stays on, and nothing else in the
 * process (the runner's own fetches, other agents) is affected.
 */
export const mediaTrustOptions = (caPem: string): Pick<UserFacingSocketConfig, 'fetchAgent' | 'options'> => {
  if (!caPem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('media CA must be a PEM certificate');
  // getCACertificates (Node >= 22.15) includes NODE_EXTRA_CA_CERTS; rootCertificates is the bundled store.
  const defaults = typeof tls.getCACertificates === 'function' ? tls.getCACertificates('default') : [...tls.rootCertificates];
  const ca = [...defaults, caPem];
  return {
    fetchAgent: new HttpsAgent({ ca }),
    // Node's fetch takes an undici dispatcher; RequestInit's typing (undici-types) is another copy of the class.
    options: { dispatcher: new UndiciAgent({ connect: { ca } }) } as unknown as RequestInit,
  };
};
