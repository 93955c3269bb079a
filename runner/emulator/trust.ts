// Trust hook: the one place that makes Baileys (in this process) accept the emulator's noise
// certificate chain. Call it only when the runner is configured for the emulator / sandbox;
// a runner pointed at WhatsApp never calls it, so the real root stays in place by default.
import { WA_CERT_DETAILS } from '@whiskeysockets/baileys';

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
