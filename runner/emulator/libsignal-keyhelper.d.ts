// libsignal ships no typings for its keyhelper module; only what contacts.ts uses.
declare module 'libsignal/src/keyhelper.js' {
  type KeyPair = { pubKey: Buffer; privKey: Buffer };
  export function generateIdentityKeyPair(): KeyPair;
  export function generateRegistrationId(): number;
  export function generateSignedPreKey(identity: KeyPair, keyId: number): { keyId: number; keyPair: KeyPair; signature: Buffer };
  export function generatePreKey(keyId: number): { keyId: number; keyPair: KeyPair };
}
