// Pairing-code login (sock.requestPairingCode): the companion wraps its ephemeral key with the
// 8-character code; the user types the code into the phone, which unwraps it, answers with its
// own wrapped ephemeral, and both derive the adv secret used by the usual pair-success.
import { Curve, aesDecryptCTR, aesDecryptGCM, aesEncryptCTR, derivePairingCodeKey, getBinaryNodeChild, hkdf, type BinaryNode } from '@whiskeysockets/baileys';
import { randomBytes } from 'node:crypto';
import type { Account } from './accounts.js';
import type { Network } from './network.js';
import { PairingError, linkCompanion } from './pairing.js';
import type { Connection } from './session.js';
import { SERVER_JID, bytesOf, childBytes, iqError, iqResult, newStanzaId, now } from './stanzas.js';

const finishWaiters = new Map<string, (node: BinaryNode) => void>();

/** stage="companion_hello": remember the wrapped companion key under the phone number and hand back a ref. */
export const acceptCompanionHello = (net: Network, conn: Connection, iq: BinaryNode, reg: BinaryNode): BinaryNode => {
  const phone = (reg.attrs.jid ?? '').split('@')[0]!.split(':')[0]!;
  const wrapped = childBytes(reg, 'link_code_pairing_wrapped_companion_ephemeral_pub');
  const companionNoiseKey = childBytes(reg, 'companion_server_auth_key_pub');
  if (!net.accounts.has(phone)) return iqError(iq, 404, 'item-not-found');
  if (!wrapped || wrapped.length !== 80 || !companionNoiseKey) return iqError(iq, 400, 'bad-request');
  const ref = randomBytes(16).toString('base64url');
  net.pairingRequests.set(phone, {
    phone,
    ref,
    conn,
    wrappedCompanionEphemeral: wrapped,
    companionNoiseKey,
    platformDisplay: childBytes(reg, 'companion_platform_display')?.toString() ?? '',
    requestedAt: Date.now(),
  });
  return iqResult(iq, [{ tag: 'link_code_companion_reg', attrs: {}, content: [{ tag: 'link_code_pairing_ref', attrs: {}, content: Buffer.from(ref) }] }]);
};

/** stage="companion_finish": hand the companion's key bundle to the phone waiting for it. */
export const acceptCompanionFinish = (iq: BinaryNode, reg: BinaryNode): BinaryNode => {
  const ref = bytesOf(getBinaryNodeChild(reg, 'link_code_pairing_ref'))?.toString() ?? '';
  const waiter = finishWaiters.get(ref);
  if (!waiter) return iqError(iq, 404, 'item-not-found');
  finishWaiters.delete(ref);
  waiter(reg);
  return iqResult(iq);
};

const wrapWithCode = async (code: string, key: Uint8Array) => {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  return Buffer.concat([salt, iv, aesEncryptCTR(key, Buffer.from(await derivePairingCodeKey(code, salt)), iv)]);
};

/** The user enters `code` on the account's phone. Resolves once the companion is linked. */
export const enterPairingCode = async (net: Network, account: Account, code: string, timeoutMs = 20_000) => {
  const req = net.pairingRequests.get(account.phone);
  if (!req || req.conn.closed || !req.conn.registration) throw new PairingError('no companion is waiting for a pairing code for this number');
  if (!req.conn.registration.noiseKey.equals(req.companionNoiseKey)) throw new PairingError('pairing request does not match the connected client');
  net.pairingRequests.delete(account.phone);
  const normalized = code.replace(/[-\s]/g, '').toUpperCase();

  const w = req.wrappedCompanionEphemeral;
  const companionEphemeral = aesDecryptCTR(w.subarray(48, 80), Buffer.from(await derivePairingCodeKey(normalized, w.subarray(0, 32))), w.subarray(32, 48));
  const primaryEphemeral = Curve.generateKeyPair();

  const finished = new Promise<BinaryNode>((resolve, reject) => {
    const timer = setTimeout(() => {
      finishWaiters.delete(req.ref);
      reject(new PairingError('companion did not finish pairing'));
    }, timeoutMs);
    finishWaiters.set(req.ref, node => {
      clearTimeout(timer);
      resolve(node);
    });
  });
  req.conn.send({
    tag: 'notification',
    attrs: { from: SERVER_JID, type: 'link_code_companion_reg', id: newStanzaId(), t: String(now()) },
    content: [
      {
        tag: 'link_code_companion_reg',
        attrs: { stage: 'primary_hello' },
        content: [
          { tag: 'link_code_pairing_ref', attrs: {}, content: Buffer.from(req.ref) },
          { tag: 'primary_identity_pub', attrs: {}, content: account.accountKey.public },
          { tag: 'link_code_pairing_wrapped_primary_ephemeral_pub', attrs: {}, content: await wrapWithCode(normalized, primaryEphemeral.public) },
        ],
      },
    ],
  });
  const finish = await finished;

  const bundle = childBytes(finish, 'link_code_pairing_wrapped_key_bundle');
  const companionIdentity = childBytes(finish, 'companion_identity_public');
  if (!bundle || !companionIdentity) throw new PairingError('companion_finish without key bundle');
  let plain: Buffer;
  const companionShared = Curve.sharedKey(primaryEphemeral.private, companionEphemeral);
  try {
    const key = Buffer.from(hkdf(companionShared, 32, { salt: bundle.subarray(0, 32), info: 'link_code_pairing_key_bundle_encryption_key' }));
    plain = aesDecryptGCM(bundle.subarray(44), key, bundle.subarray(32, 44), Buffer.alloc(0));
  } catch {
    req.conn.end();
    throw new PairingError('wrong pairing code');
  }
  const bundledCompanionIdentity = plain.subarray(0, 32);
  const bundledPrimaryIdentity = plain.subarray(32, 64);
  const random = plain.subarray(64, 96);
  if (!bundledCompanionIdentity.equals(companionIdentity) || !companionIdentity.equals(req.conn.registration!.identity)) {
    throw new PairingError('companion identity does not match');
  }
  if (!bundledPrimaryIdentity.equals(Buffer.from(account.accountKey.public))) throw new PairingError('companion paired with another primary');
  const identityShared = Curve.sharedKey(account.accountKey.private, companionIdentity);
  const advSecret = Buffer.from(hkdf(Buffer.concat([companionShared, identityShared, random]), 32, { info: 'adv_secret' }));
  return linkCompanion(net, account, req.conn, advSecret);
};
