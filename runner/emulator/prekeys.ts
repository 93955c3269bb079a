// xmlns="encrypt": pre-key count, upload, digest, rotation, and key-bundle fetches for contacts
// and linked devices (each one-time pre-key is handed out once only).
import { encodeBigEndian, getBinaryNodeChild, type BinaryNode } from '@whiskeysockets/baileys';
import type { Account, LinkedDevice } from './accounts.js';
import { sendInitialHistorySync } from './history-sync.js';
import type { Network } from './network.js';
import type { Connection } from './session.js';
import { children, childBytes, iqError, iqResult, readUIntBE } from './stanzas.js';

export const deviceKeyBundle = (jid: string, device: LinkedDevice): BinaryNode => {
  const { bundle } = device;
  const content: BinaryNode[] = [
    { tag: 'registration', attrs: {}, content: encodeBigEndian(bundle.registrationId) },
    { tag: 'type', attrs: {}, content: Buffer.from([5]) },
    { tag: 'identity', attrs: {}, content: bundle.identity },
    {
      tag: 'skey',
      attrs: {},
      content: [
        { tag: 'id', attrs: {}, content: encodeBigEndian(bundle.signedPreKey.keyId, 3) },
        { tag: 'value', attrs: {}, content: bundle.signedPreKey.public },
        { tag: 'signature', attrs: {}, content: bundle.signedPreKey.signature },
      ],
    },
  ];
  const oneTime = takeOneTimePreKey(device);
  if (oneTime) {
    content.push({
      tag: 'key',
      attrs: {},
      content: [
        { tag: 'id', attrs: {}, content: encodeBigEndian(oneTime.keyId, 3) },
        { tag: 'value', attrs: {}, content: oneTime.public },
      ],
    });
  }
  return { tag: 'user', attrs: { jid }, content };
};

export const takeOneTimePreKey = (device: LinkedDevice): { keyId: number; public: Buffer } | undefined => {
  const first = device.bundle.preKeys.entries().next();
  if (first.done) return undefined;
  const [keyId, pub] = first.value;
  device.bundle.preKeys.delete(keyId);
  return { keyId, public: pub };
};

const readSignedPreKey = (skey: BinaryNode | undefined) =>
  skey && {
    keyId: readUIntBE(childBytes(skey, 'id')),
    public: childBytes(skey, 'value')!,
    signature: childBytes(skey, 'signature')!,
  };

export const answerEncrypt = (net: Network, conn: Connection, iq: BinaryNode): BinaryNode => {
  const first = children(iq)[0];
  const device = conn.device;
  if (!device) return iqError(iq, 401, 'not-authorized');
  if (iq.attrs.type === 'get' && first?.tag === 'count') {
    return iqResult(iq, [{ tag: 'count', attrs: { value: String(device.bundle.preKeys.size) } }]);
  }
  if (iq.attrs.type === 'set' && getBinaryNodeChild(iq, 'list')) {
    const list = children(getBinaryNodeChild(iq, 'list'));
    for (const key of list) device.bundle.preKeys.set(readUIntBE(childBytes(key, 'id')), childBytes(key, 'value')!);
    const identity = childBytes(iq, 'identity');
    if (identity) device.bundle.identity = identity;
    const registration = childBytes(iq, 'registration');
    if (registration) device.bundle.registrationId = readUIntBE(registration);
    const skey = readSignedPreKey(getBinaryNodeChild(iq, 'skey'));
    if (skey) device.bundle.signedPreKey = skey;
    net.onChange();
    // A freshly linked device has just published its keys: the phone now sends it the history sync.
    if (!device.historySynced && conn.account) {
      device.historySynced = true;
      void sendInitialHistorySync(net, conn.account, device).catch(() => {});
    }
    return iqResult(iq);
  }
  if (iq.attrs.type === 'set' && first?.tag === 'rotate') {
    const skey = readSignedPreKey(getBinaryNodeChild(first, 'skey'));
    if (skey) device.bundle.signedPreKey = skey;
    net.onChange();
    return iqResult(iq);
  }
  if (iq.attrs.type === 'get' && first?.tag === 'digest') {
    const { bundle } = device;
    return iqResult(iq, [
      {
        tag: 'digest',
        attrs: {},
        content: [
          { tag: 'registration', attrs: {}, content: encodeBigEndian(bundle.registrationId) },
          { tag: 'type', attrs: {}, content: Buffer.from([5]) },
          { tag: 'identity', attrs: {}, content: bundle.identity },
          { tag: 'skey', attrs: {}, content: [{ tag: 'id', attrs: {}, content: encodeBigEndian(bundle.signedPreKey.keyId, 3) }] },
          { tag: 'list', attrs: {}, content: [...bundle.preKeys.keys()].map(id => ({ tag: 'id', attrs: {}, content: encodeBigEndian(id, 3) })) },
        ],
      },
    ]);
  }
  if (iq.attrs.type === 'get' && first?.tag === 'key') {
    const users = children(first).filter(n => n.tag === 'user');
    const results = users.map(u => keyBundleFor(net, u.attrs.jid!));
    return iqResult(iq, [{ tag: 'list', attrs: {}, content: results }]);
  }
  return iqError(iq, 501, 'feature-not-implemented');
};

const keyBundleFor = (net: Network, jid: string): BinaryNode => {
  const owner = net.resolve(jid);
  const device = Number(jid.split('@')[0]!.split(':')[1] ?? 0);
  if (owner?.kind === 'contact' && device === 0) {
    net.onChange();
    return owner.contact.takeKeyBundle(jid);
  }
  if (owner?.kind === 'account' && device === 0) {
    net.onChange();
    return owner.account.primaryDevice.takeKeyBundle(jid);
  }
  if (owner?.kind === 'account') {
    const linked = owner.account.devices.get(device);
    if (linked) {
      net.onChange();
      return deviceKeyBundle(jid, linked);
    }
  }
  return { tag: 'user', attrs: { jid }, content: [{ tag: 'error', attrs: { code: '404', text: 'item-not-found' } }] };
};

export type { Account };
