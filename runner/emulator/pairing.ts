// The phone linking a companion: reading its QR, signing its ADV device identity with the
// account key, HMAC with the adv secret, pair-success, checking the companion's device
// signature, then 515 (restart) so it logs in as the new device.
import { Curve, WA_ADV_ACCOUNT_SIG_PREFIX, WA_ADV_DEVICE_SIG_PREFIX, getBinaryNodeChild, hmacSign, proto } from '@whiskeysockets/baileys';
import { randomBytes, randomInt } from 'node:crypto';
import type { Account } from './accounts.js';
import type { Network } from './network.js';
import type { Connection } from './session.js';
import { SERVER_JID, bytesOf, newStanzaId, now, signatureIsValid } from './stanzas.js';

export class PairingError extends Error {}

export type QrContents = { ref: string; noiseKey: Buffer; identityKey: Buffer; advSecret: Buffer; platform: string };

/** Parses what Baileys puts in the QR: [https://wa.me/settings/linked_devices#]ref,noise,identity,adv,platform */
export const parseQr = (qr: string): QrContents => {
  const body = qr.includes('#') ? qr.slice(qr.indexOf('#') + 1) : qr;
  const parts = body.split(',');
  if (parts.length < 4) throw new PairingError('not a WhatsApp Web QR string');
  const [ref, noise, identity, adv, platform] = parts as [string, string, string, string, string?];
  return {
    ref,
    noiseKey: Buffer.from(noise, 'base64'),
    identityKey: Buffer.from(identity, 'base64'),
    advSecret: Buffer.from(adv, 'base64'),
    platform: platform ?? '',
  };
};

/**
 * Ways a forged server (or a phone it pretends to be) can sign the account's half of a new link: the
 * companion must refuse each and never take the identity it names. `honest` is WhatsApp's behaviour.
 */
export const pairingSignatureFaults = ['random-signature', 'zero-signature', 'foreign-key'] as const;
export type PairingSignatureFault = (typeof pairingSignatureFaults)[number];

function signAccount(mode: 'honest' | PairingSignatureFault, accountPrivate: Uint8Array, message: Buffer): Uint8Array {
  switch (mode) {
    case 'honest':
      return Curve.sign(accountPrivate, message);
    case 'random-signature':
      return randomBytes(64);
    case 'zero-signature':
      return new Uint8Array(64);
    case 'foreign-key':
      // A valid signature, by a key that is not the account's (which the device identity still names).
      return Curve.sign(Curve.generateKeyPair().private, message);
  }
}

/** "Scan" a QR with the account's phone: the companion it names gets linked to `account`. */
export const scanQr = async (net: Network, account: Account, qr: string) => {
  const contents = parseQr(qr);
  const conn = net.qrRefs.get(contents.ref);
  if (!conn || conn.closed || !conn.registration) throw new PairingError('QR code expired or unknown');
  // The QR must describe the very client that is connected with this ref.
  if (!conn.registration.noiseKey.equals(contents.noiseKey)) throw new PairingError('QR noise key does not match the connected client');
  if (!conn.registration.identity.equals(contents.identityKey)) throw new PairingError('QR identity key does not match the connected client');
  return linkCompanion(net, account, conn, contents.advSecret);
};

export const linkCompanion = async (net: Network, account: Account, conn: Connection, advSecret: Buffer) => {
  const reg = conn.registration;
  if (!reg) throw new PairingError('client is not waiting to be linked');
  conn.registration = undefined; // one link per connection, even if the QR is scanned twice
  for (const [ref, c] of net.qrRefs) if (c === conn) net.qrRefs.delete(ref);

  const { id: deviceId, keyIndex } = account.reserveDevice();
  const details = Buffer.from(
    proto.ADVDeviceIdentity.encode({ rawId: randomInt(1, 2 ** 31), timestamp: now(), keyIndex, accountType: 0, deviceType: 0 }).finish(),
  );
  const accountSignature = signAccount(net.pairingSignature, account.accountKey.private, Buffer.concat([WA_ADV_ACCOUNT_SIG_PREFIX, details, reg.identity]));
  const signedIdentity = proto.ADVSignedDeviceIdentity.encode({
    details,
    accountSignatureKey: account.accountKey.public,
    accountSignature,
  }).finish();
  const container = proto.ADVSignedDeviceIdentityHMAC.encode({ details: signedIdentity, hmac: hmacSign(signedIdentity, advSecret) }).finish();

  const reply = await conn.query({
    tag: 'iq',
    attrs: { type: 'set', xmlns: 'md', from: SERVER_JID, t: String(now()) },
    content: [
      {
        tag: 'pair-success',
        attrs: {},
        content: [
          { tag: 'device-identity', attrs: {}, content: container },
          { tag: 'platform', attrs: { name: 'android' } },
          { tag: 'device', attrs: { jid: account.deviceJid(deviceId), lid: account.deviceLid(deviceId) } },
          { tag: 'biz', attrs: { name: account.name } },
        ],
      },
    ],
  }).catch(() => {
    throw new PairingError('the companion hung up instead of accepting the link (did it refuse the account signature?)');
  });
  const signedByDevice = bytesOf(getBinaryNodeChild(getBinaryNodeChild(reply, 'pair-device-sign'), 'device-identity'));
  if (reply.attrs.type !== 'result' || !signedByDevice) {
    conn.end();
    throw new PairingError('companion rejected the pairing (bad HMAC or account signature on its side)');
  }
  const answered = proto.ADVSignedDeviceIdentity.decode(signedByDevice);
  const deviceMsg = Buffer.concat([WA_ADV_DEVICE_SIG_PREFIX, details, reg.identity, account.accountKey.public]);
  if (!Buffer.from(answered.details ?? []).equals(details) || !answered.deviceSignature || !signatureIsValid(reg.identity, deviceMsg, answered.deviceSignature)) {
    conn.end();
    throw new PairingError('companion device signature is invalid');
  }
  account.link({
    id: deviceId,
    noiseKey: reg.noiseKey,
    keyIndex,
    platform: reg.platform,
    bundle: { registrationId: reg.registrationId, identity: reg.identity, signedPreKey: reg.signedPreKey, preKeys: new Map() },
    offline: [],
    linkedAt: Date.now(),
  });
  net.onChange();
  // Already-linked devices learn about their new sibling (Baileys updates its device cache).
  for (const other of net.connectionsOf(account)) {
    other.send({
      tag: 'notification',
      attrs: { from: account.pnJid, type: 'devices', id: newStanzaId(), t: String(now()) },
      content: [{ tag: 'add', attrs: {}, content: [{ tag: 'device', attrs: { jid: account.deviceJid(deviceId), 'key-index': String(keyIndex) } }] }],
    });
  }
  // The companion must reconnect and log in as the new device.
  conn.streamError(515);
  return { phone: account.phone, device: deviceId, jid: account.deviceJid(deviceId), lid: account.deviceLid(deviceId) };
};
