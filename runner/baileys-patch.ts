// Our one change to Baileys (patches/@whiskeysockets+baileys+*.patch, applied by patch-package on npm
// install): a received message's delivery receipt can wait until the message is stored (receipt-gate.ts),
// and comes with the decrypted message, which outlives the socket's event buffer.
// Without it Baileys would silently ignore the option and receipt at once, and a runner's death would
// lose messages again, so a runner refuses to start on an unpatched install.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

// The patch's current form (an install with an older one lacks the decrypted message).
const MARKER = 'config.deferDeliveryReceipt(msg.key, deliverReceipt, { message: msg';

export const baileysPatched = (): boolean => {
  // The package's main entry is lib/index.js; the receiving socket is beside it.
  const main = createRequire(import.meta.url).resolve('@whiskeysockets/baileys');
  return readFileSync(path.join(path.dirname(main), 'Socket', 'messages-recv.js'), 'utf8').includes(MARKER);
};

export const assertBaileysPatched = (): void => {
  if (!baileysPatched()) {
    throw new Error('Baileys is not patched (patches/@whiskeysockets+baileys+*.patch): run `npm install` (its postinstall runs patch-package)');
  }
};
