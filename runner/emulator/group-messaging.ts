// Group messages, both directions. A group message is one skmsg (encrypted once with the sender's
// sender key) fanned out by the server to every member device, plus, for devices that do not hold
// that sender key yet, a pairwise Signal message (pkmsg / msg) carrying the SenderKeyDistributionMessage.
import { getBinaryNodeChild, jidDecode, type BinaryNode, type proto } from '@whiskeysockets/baileys';
import type { Account } from './accounts.js';
import type { Contact } from './contacts.js';
import { memberOf, participantAttrs, type Group } from './groups.js';
import { inspectMedia } from './media.js';
import { ack, deviceBundle, sendContactReceipt, serially, trackGatewaySend } from './messaging.js';
import type { Network } from './network.js';
import type { Connection } from './session.js';
import { bytesOf, children, newMessageId, now } from './stanzas.js';

const failure = (net: Network, who: string, id: string, err: unknown) =>
  net.decryptFailures.push({ contact: who, id, error: err instanceof Error ? err.message : String(err), at: Date.now() });

/**
 * A gateway device sends `<message to="…@g.us">` with `<participants><to jid><enc pkmsg|msg/></to>…`
 * (the sender key for devices new to it) and one `<enc type="skmsg">`. The server acks it, every
 * member contact (and every member account's phone) decrypts it, and the members' linked devices
 * get it as `<message from="<group>" participant="<sender device>">`.
 */
export const acceptGatewayGroupMessage = async (net: Network, conn: Connection, node: BinaryNode) => {
  const account = conn.account!;
  const senderDevice = conn.device!.id;
  const id = node.attrs.id!;
  const to = node.attrs.to!;
  const t = now();
  const group = net.groups.get(to);
  if (!group || !group.has(account.phone)) {
    // WhatsApp does not relay to a group the sender is not in: a negative ack, which Baileys
    // turns into status ERROR for the message (handleBadAck).
    ack(net, conn, { class: 'message', id, from: to, t: String(t), error: group ? '403' : '404' });
    return;
  }
  ack(net, conn, { class: 'message', id, from: to, t: String(t) });
  trackGatewaySend(net, id, { phone: account.phone, device: senderDevice, group: group.jid });

  // Pairwise copies by "<phone>:<device>". Baileys' device list for a LID group includes the sending
  // device itself (extractDeviceJids compares LID users with the PN user), so it may encrypt one for
  // itself; like the server, nothing is sent back to the sender device.
  const pairwise = new Map<string, BinaryNode>();
  for (const p of children(getBinaryNodeChild(node, 'participants'))) {
    const enc = getBinaryNodeChild(p, 'enc');
    const owner = p.tag === 'to' && enc ? net.resolve(p.attrs.jid ?? '') : undefined;
    if (!owner) continue;
    const phone = owner.kind === 'contact' ? owner.contact.phone : owner.account.phone;
    pairwise.set(`${phone}:${jidDecode(p.attrs.jid!)?.device ?? 0}`, enc!);
  }
  const skmsgNode = children(node).find(c => c.tag === 'enc' && c.attrs.type === 'skmsg');
  const skmsg = bytesOf(skmsgNode);
  const sender = { kind: 'account' as const, account };
  const openMedia = (message: proto.IMessage) => inspectMedia(net.media, message);
  const envelope = { group: group.jid, lidUser: account.lid, device: senderDevice, fromJid: account.deviceJid(senderDevice), chat: group.jid, id, t };
  const pairwiseFor = (phone: string, device: number) => {
    const enc = pairwise.get(`${phone}:${device}`);
    const ciphertext = bytesOf(enc);
    return enc && ciphertext ? { encType: enc.attrs.type!, ciphertext } : undefined;
  };

  for (const phone of group.participants) {
    const member = memberOf(net, phone);
    if (member?.kind === 'contact') {
      const { contact } = member;
      try {
        await contact.receiveGroup({ ...envelope, pairwise: pairwiseFor(phone, 0), ...(skmsg ? { skmsg } : {}) }, openMedia);
        net.onChange();
        if (net.autoDeliveryReceipts) sendContactReceipt(net, contact, [id], 'delivery');
      } catch (err) {
        failure(net, contact.phone, id, err);
      }
    } else if (member?.kind === 'account') {
      const { account: memberAccount } = member;
      // The member's phone (device 0) reads it too; its inbox is GET /control/accounts/:phone/inbox.
      await memberAccount.primaryDevice
        .receiveGroup({ ...envelope, pairwise: pairwiseFor(phone, 0), ...(skmsg ? { skmsg } : {}) }, openMedia)
        .then(() => net.onChange())
        .catch(err => failure(net, memberAccount.phone, id, err));
      for (const device of memberAccount.devices.values()) {
        const sameAccount = memberAccount === account;
        if (sameAccount && device.id === senderDevice) continue;
        const enc = pairwise.get(`${phone}:${device.id}`);
        net.deliver(memberAccount, device, {
          tag: 'message',
          attrs: {
            from: group.jid,
            ...participantAttrs(group, sender, senderDevice),
            id,
            t: String(t),
            type: node.attrs.type ?? 'text',
            ...(sameAccount ? {} : { notify: account.name }),
          },
          content: [
            ...(enc ? [{ tag: 'enc', attrs: { ...enc.attrs }, content: bytesOf(enc) }] : []),
            ...(skmsgNode && skmsg ? [{ tag: 'enc', attrs: { ...skmsgNode.attrs }, content: skmsg }] : []),
          ],
        });
      }
    }
  }
};

const senderKeyMessage = (group: Group, skdm: Buffer): proto.IMessage => ({
  senderKeyDistributionMessage: { groupId: group.jid, axolotlSenderKeyDistributionMessage: skdm },
});

const groupStanza = (group: Group, contact: Contact, id: string, content: BinaryNode[]): BinaryNode => ({
  tag: 'message',
  attrs: { from: group.jid, ...participantAttrs(group, { kind: 'contact', contact }), id, t: String(now()), type: 'text', notify: contact.name },
  content,
});

/**
 * The contact sends a message to a group: one skmsg with its sender key (created on first use) to
 * every linked device of every member account, preceded, for devices that have not had that key
 * yet, by a pairwise message carrying it. Other contacts and the accounts' phones do not receive
 * contacts' group messages (contacts keep no Signal sessions with each other).
 */
export const sendGroupFromContact = (net: Network, contact: Contact, group: Group, message: proto.IMessage, opts: { id?: string } = {}) =>
  serially(contact, async () => {
    if (!group.has(contact.phone)) throw new Error(`${contact.phone} is not in ${group.jid}`);
    const id = opts.id ?? newMessageId();
    contact.rememberSent(id, message, group.jid);
    const { skmsg, skdm } = await contact.encryptForGroup(group.jid, message);
    for (const phone of group.participants) {
      const member = memberOf(net, phone);
      if (member?.kind !== 'account') continue;
      const { account } = member;
      for (const device of account.devices.values()) {
        const content: BinaryNode[] = [];
        const deviceKey = `${account.lid}:${device.id}`;
        if (!contact.senderKeys.hasDistributedTo(group.jid, deviceKey)) {
          const { encType, ciphertext } = await contact.encryptFor(account.lid, device.id, senderKeyMessage(group, skdm), deviceBundle(device));
          content.push({ tag: 'enc', attrs: { v: '2', type: encType }, content: ciphertext });
          contact.senderKeys.markDistributed(group.jid, deviceKey);
        }
        content.push({ tag: 'enc', attrs: { v: '2', type: 'skmsg' }, content: skmsg });
        net.deliver(account, device, groupStanza(group, contact, id, content));
      }
    }
    net.onChange();
    return id;
  });

/**
 * A gateway device could not decrypt a contact's group message (retry receipt): the contact starts
 * a fresh session with it and resends the message pairwise, with its sender key attached so the
 * device can read the group's next skmsgs (what Baileys' own relayMessage does for a retry).
 */
export const resendGroupMessage = async (net: Network, contact: Contact, account: Account, deviceId: number, id: string, sent: { message: proto.IMessage; group: string }) => {
  const device = account.devices.get(deviceId);
  const group = net.groups.get(sent.group);
  if (!device || !group) return;
  contact.dropSessionsWith(account.lid, deviceId);
  const { skdm } = await contact.senderKeys.distribution(group.jid, { user: contact.lid, device: 0 });
  const { encType, ciphertext } = await contact.encryptFor(account.lid, deviceId, { ...sent.message, ...senderKeyMessage(group, skdm) }, deviceBundle(device));
  contact.senderKeys.markDistributed(group.jid, `${account.lid}:${deviceId}`);
  net.deliver(account, device, groupStanza(group, contact, id, [{ tag: 'enc', attrs: { v: '2', type: encType, count: '1' }, content: ciphertext }]));
};
