// Answers to the client's iq queries. Anything not modelled gets an empty result (so Baileys
// carries on) and is recorded in network.unknownQueries for whoever wants to extend the emulator
// (group operations not modelled get an error instead: groups.ts).
import type { BinaryNode } from '@whiskeysockets/baileys';
import { answerGroupIq } from './groups.js';
import { mediaConnNode } from './media.js';
import type { Network } from './network.js';
import { acceptCompanionFinish, acceptCompanionHello } from './pairing-code.js';
import { answerEncrypt } from './prekeys.js';
import type { Connection } from './session.js';
import { children, iqError, iqResult, newStanzaId, now } from './stanzas.js';
import { answerUsync, isContactLookup } from './usync.js';

const PRIVACY: Record<string, string> = {
  readreceipts: 'all',
  last: 'all',
  online: 'all',
  profile: 'all',
  status: 'all',
  groupadd: 'all',
  calladd: 'all',
  messages: 'all',
};

export const answerIq = (net: Network, conn: Connection, iq: BinaryNode): BinaryNode | undefined => {
  const xmlns = iq.attrs.xmlns ?? '';
  const type = iq.attrs.type ?? '';
  const first = children(iq)[0];
  if (xmlns === 'md') return answerMd(net, conn, iq, first);
  if (xmlns === 'w:p') return iqResult(iq);
  if (!conn.loggedIn) return iqError(iq, 401, 'not-authorized');
  switch (xmlns) {
    case 'encrypt':
      return answerEncrypt(net, conn, iq);
    case 'usync': {
      // A contact-lookup fault on the account: "who is on WhatsApp" fails or goes unanswered.
      const lookups = conn.account ? net.policy(conn.account.phone).contactLookups : 'normal';
      if (lookups !== 'normal' && isContactLookup(iq)) return lookups === 'error' ? iqError(iq, 500, 'internal-server-error') : undefined;
      return answerUsync(net, iq);
    }
    case 'passive':
    case 'w:stats':
      return iqResult(iq);
    case 'privacy':
      if (type === 'get') {
        return iqResult(iq, [
          { tag: 'privacy', attrs: {}, content: Object.entries(PRIVACY).map(([name, value]) => ({ tag: 'category', attrs: { name, value } })) },
        ]);
      }
      return iqResult(iq);
    case 'blocklist':
      return iqResult(iq, type === 'get' ? [{ tag: 'list', attrs: {} }] : undefined);
    case 'abt':
      return iqResult(iq, [{ tag: 'props', attrs: { protocol: '1', hash: 'emulator-1' }, content: [] }]);
    case 'w:sync:app:state': {
      // No app-state patches are modelled: every requested collection is reported complete at
      // its current version (an empty answer would make Baileys re-ask forever).
      const collections = children(children(iq)[0]).filter(c => c.tag === 'collection');
      return iqResult(iq, [
        { tag: 'sync', attrs: {}, content: collections.map(c => ({ tag: 'collection', attrs: { name: c.attrs.name!, version: c.attrs.version ?? '0' } })) },
      ]);
    }
    case 'w:m':
      return iqResult(iq, [mediaConnNode(net.media)]);
    case 'w:g2':
      return answerGroupIq(net, conn, iq);
    case 'w:profile:picture': {
      // A contact's picture, as WhatsApp answers it; none set is 404 item-not-found (Baileys throws).
      const owner = net.resolve(iq.attrs.target ?? '');
      const url = owner?.kind === 'contact' ? owner.contact.picture : null;
      if (!url) return iqError(iq, 404, 'item-not-found');
      return iqResult(iq, [{ tag: 'picture', attrs: { id: String(url.length), type: 'image', url } }]);
    }
  }
  net.unknownQueries.push({ xmlns, type, child: first?.tag ?? '', from: conn.account?.deviceJid(conn.device!.id) ?? '', at: now() });
  return iqResult(iq);
};

const answerMd = (net: Network, conn: Connection, iq: BinaryNode, first: BinaryNode | undefined): BinaryNode => {
  if (first?.tag === 'link_code_companion_reg') {
    if (first.attrs.stage === 'companion_hello') return acceptCompanionHello(net, conn, iq, first);
    if (first.attrs.stage === 'companion_finish') return acceptCompanionFinish(iq, first);
  }
  if (first?.tag === 'remove-companion-device' && conn.account && conn.device) {
    // The companion logs itself out (sock.logout()).
    unlinkDevice(net, conn.account.phone, conn.device.id, { notifySelf: false });
    return iqResult(iq);
  }
  net.unknownQueries.push({ xmlns: 'md', type: iq.attrs.type ?? '', child: first?.tag ?? '', from: '', at: now() });
  return iqResult(iq);
};

/**
 * The phone removes a linked device: its stream ends with 401 (device_removed), its other devices
 * get a devices/remove notification, and its next login fails with 401.
 */
export const unlinkDevice = (net: Network, phone: string, deviceId: number, opts: { notifySelf: boolean } = { notifySelf: true }) => {
  const account = net.account(phone);
  if (!account.unlink(deviceId)) throw new Error(`no device ${deviceId} on ${phone}`);
  for (const contact of net.contacts.values()) contact.dropSessionsWith(account.lid, deviceId);
  for (const conn of net.connectionsOf(account)) {
    const removed = conn.device?.id === deviceId;
    if (removed && !opts.notifySelf) continue;
    conn.send({
      tag: 'notification',
      attrs: { from: account.pnJid, type: 'devices', id: newStanzaId(), t: String(now()) },
      content: [{ tag: 'remove', attrs: {}, content: [{ tag: 'device', attrs: { jid: account.deviceJid(deviceId) } }] }],
    });
    if (removed) conn.streamError(401);
  }
  net.onChange();
};

