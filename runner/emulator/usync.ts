// xmlns="usync": who is on WhatsApp (contact), which devices a user has (devices, with key-index
// for companions), and their LIDs. Baileys only fetches keys for users with a LID.
import { getBinaryNodeChild, type BinaryNode } from '@whiskeysockets/baileys';
import type { Network } from './network.js';
import { bytesOf, children, iqResult, now } from './stanzas.js';

type Owner = ReturnType<Network['resolve']>;

const devicesNode = (owner: Owner): BinaryNode => {
  const devices: BinaryNode[] = [];
  if (owner?.kind === 'contact') devices.push({ tag: 'device', attrs: { id: '0' } });
  if (owner?.kind === 'account') {
    devices.push({ tag: 'device', attrs: { id: '0' } }); // the phone
    for (const d of owner.account.devices.values()) devices.push({ tag: 'device', attrs: { id: String(d.id), 'key-index': String(d.keyIndex) } });
  }
  return {
    tag: 'devices',
    attrs: {},
    content: [
      { tag: 'device-list', attrs: {}, content: devices },
      { tag: 'key-index-list', attrs: { ts: String(now()) } },
    ],
  };
};

const lidNode = (owner: Owner): BinaryNode | undefined => {
  if (owner?.kind === 'contact') return { tag: 'lid', attrs: { val: owner.contact.lidJid } };
  if (owner?.kind === 'account') return { tag: 'lid', attrs: { val: owner.account.lidJid } };
  return undefined;
};

/** A usync query asking which numbers are on WhatsApp (Baileys' onWhatsApp), not for devices or LIDs. */
export const isContactLookup = (iq: BinaryNode): boolean =>
  children(getBinaryNodeChild(getBinaryNodeChild(iq, 'usync'), 'query')).some(p => p.tag === 'contact');

export const answerUsync = (net: Network, iq: BinaryNode): BinaryNode => {
  const usync = getBinaryNodeChild(iq, 'usync');
  const protocols = children(getBinaryNodeChild(usync, 'query')).map(p => p.tag);
  const users = children(getBinaryNodeChild(usync, 'list')).filter(u => u.tag === 'user');
  const list = users.map(user => {
    let jid = user.attrs.jid;
    if (!jid) {
      const phone = bytesOf(getBinaryNodeChild(user, 'contact'))?.toString().replace(/\D/g, '');
      jid = `${phone}@s.whatsapp.net`;
    }
    jid = jid.replace(/:\d+@/, '@');
    // A number asked for by phone may be known under another (dialledAs): answered with the registered JID.
    const registered = !user.attrs.jid && net.dialledAs.get(jid.split('@')[0]!);
    if (registered) jid = `${registered}@s.whatsapp.net`;
    const owner = net.resolve(jid);
    const content: BinaryNode[] = [];
    for (const protocol of protocols) {
      if (protocol === 'devices') content.push(devicesNode(owner));
      else if (protocol === 'lid') {
        const lid = lidNode(owner);
        if (lid) content.push(lid);
      } else if (protocol === 'contact') content.push({ tag: 'contact', attrs: { type: owner ? 'in' : 'out' } });
    }
    return { tag: 'user', attrs: { jid }, content };
  });
  return iqResult(iq, [
    {
      tag: 'usync',
      attrs: { ...usync?.attrs, index: '0', last: 'true' },
      content: [
        { tag: 'result', attrs: {}, content: protocols.map(p => ({ tag: p, attrs: {} })) },
        { tag: 'list', attrs: {}, content: list },
      ],
    },
  ]);
};
