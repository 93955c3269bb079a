// 1:1 messages and receipts between gateway devices and contacts (and between an account's own
// devices); group messages are handed to group-messaging.ts. The server only routes ciphertext;
// contacts encrypt/decrypt with libsignal.
import { getBinaryNodeChild, isJidGroup, jidDecode, type BinaryNode, type proto } from '@whiskeysockets/baileys';
import type { Account, LinkedDevice } from './accounts.js';
import type { Contact } from './contacts.js';
import { acceptGatewayGroupMessage, resendGroupMessage } from './group-messaging.js';
import { participantAttrs } from './groups.js';
import { inspectMedia } from './media.js';
import type { Network } from './network.js';
import { takeOneTimePreKey } from './prekeys.js';
import type { Connection } from './session.js';
import { bytesOf, children, newMessageId, now } from './stanzas.js';

/** Bounds memory of a long-running sandbox: receipts for older messages are simply not routed. */
const MAX_TRACKED_SENDS = 100_000;

/** The server's <ack> for a stanza, subject to the account's scripted ack faults. */
export const ack = (net: Network, conn: Connection, attrs: Record<string, string>) => {
  const policy = conn.account ? net.policy(conn.account.phone).acks : { mode: 'normal' as const, delayMs: 0 };
  const node: BinaryNode = { tag: 'ack', attrs };
  if (policy.mode === 'drop') return;
  if (policy.mode === 'delay') setTimeout(() => conn.send(node), policy.delayMs).unref();
  else conn.send(node);
};

/** Remembers which gateway device sent a message id, so receipts find their way back (bounded). */
export const trackGatewaySend = (net: Network, id: string, sender: { phone: string; device: number; group?: string }) => {
  net.sentByGateway.set(id, sender);
  if (net.sentByGateway.size > MAX_TRACKED_SENDS) net.sentByGateway.delete(net.sentByGateway.keys().next().value!);
};

/** Hands a contact a linked device's key bundle (with one of its one-time pre-keys) to start a session. */
export const deviceBundle = (device: LinkedDevice) => () => {
  const preKey = takeOneTimePreKey(device);
  return { ...device.bundle, ...(preKey ? { preKey } : {}) };
};

/** A <message> from a gateway device: fan its per-device ciphertexts out to their owners. */
export const acceptGatewayMessage = async (net: Network, conn: Connection, node: BinaryNode) => {
  if (isJidGroup(node.attrs.to)) return acceptGatewayGroupMessage(net, conn, node);
  const account = conn.account!;
  const senderDevice = conn.device!.id;
  const id = node.attrs.id!;
  const to = node.attrs.to!;
  const t = now();
  ack(net, conn, { class: 'message', id, from: to, t: String(t) });

  const targets: Array<{ jid: string; enc: BinaryNode }> = [];
  for (const p of children(getBinaryNodeChild(node, 'participants'))) {
    const enc = getBinaryNodeChild(p, 'enc');
    if (p.tag === 'to' && enc) targets.push({ jid: p.attrs.jid!, enc });
  }
  const openMedia = (message: proto.IMessage) => inspectMedia(net.media, message);
  const direct = getBinaryNodeChild(node, 'enc');
  if (direct) targets.push({ jid: node.attrs.to!, enc: direct });
  trackGatewaySend(net, id, { phone: account.phone, device: senderDevice });

  for (const { jid, enc } of targets) {
    const owner = net.resolve(jid);
    const ciphertext = bytesOf(enc);
    if (!owner || !ciphertext) continue;
    const targetDevice = jidDecode(jid)?.device ?? 0;
    if (owner.kind === 'contact') {
      try {
        await owner.contact.receive({
          lidUser: account.lid,
          device: senderDevice,
          fromJid: account.deviceJid(senderDevice),
          chat: account.pnJid,
          id,
          t,
          encType: enc.attrs.type!,
          ciphertext,
        }, openMedia);
        net.onChange();
        if (net.autoDeliveryReceipts) sendContactReceipt(net, owner.contact, [id], 'delivery');
      } catch (err) {
        net.decryptFailures.push({ contact: owner.contact.phone, id, error: err instanceof Error ? err.message : String(err), at: Date.now() });
      }
    } else if (targetDevice === 0) {
      // The account's phone keeps its own copy (and the other account's phone, for account-to-account).
      const sameAccount = owner.account === account;
      await owner.account.primaryDevice
        .receive({ lidUser: account.lid, device: senderDevice, fromJid: account.deviceJid(senderDevice), chat: sameAccount ? to : account.pnJid, id, t, encType: enc.attrs.type!, ciphertext }, openMedia)
        .catch(err => net.decryptFailures.push({ contact: owner.account.phone, id, error: (err as Error).message, at: Date.now() }));
    } else {
      const device = owner.account.devices.get(targetDevice);
      if (!device) continue;
      const sameAccount = owner.account === account;
      net.deliver(owner.account, device, {
        tag: 'message',
        attrs: {
          from: account.deviceJid(senderDevice),
          ...(sameAccount ? { recipient: to } : { notify: account.name }),
          id,
          t: String(t),
          type: node.attrs.type ?? 'text',
        },
        content: [{ tag: 'enc', attrs: { ...enc.attrs }, content: ciphertext }],
      });
    }
  }
};

/** A <receipt> from a gateway device (delivery / read of a contact's message). */
export const acceptGatewayReceipt = async (net: Network, conn: Connection, node: BinaryNode) => {
  const ids = [node.attrs.id!, ...children(getBinaryNodeChild(node, 'list')).map(i => i.attrs.id!)];
  // A receipt (delivery, read, retry, peer…) also tells the server the device has the message: no redelivery.
  for (const id of ids) conn.unacked.delete(id);
  // For a group message the receipt goes to the group and names the sender as participant.
  const group = isJidGroup(node.attrs.to) ? node.attrs.to : undefined;
  const owner = net.resolve((group ? node.attrs.participant : node.attrs.to) ?? '');
  if (owner?.kind === 'contact' && node.attrs.type === 'retry') {
    // The device could not decrypt: start a fresh session with it and send the message again.
    await resendAfterRetry(net, owner.contact, conn.account!, conn.device!.id, node.attrs.id!).catch(err =>
      net.decryptFailures.push({ contact: owner.contact.phone, id: node.attrs.id!, error: `retry failed: ${(err as Error).message}`, at: Date.now() }),
    );
  }
  if (owner?.kind === 'contact') {
    net.receipts.push({
      direction: 'gateway-to-contact',
      contact: owner.contact.phone,
      account: conn.account!.phone,
      device: conn.device!.id,
      ids,
      type: node.attrs.type ?? 'delivery',
      t: now(),
      at: Date.now(),
      ...(group ? { group } : {}),
    });
    net.onChange();
  }
  ack(net, conn, {
    class: 'receipt',
    id: node.attrs.id!,
    from: node.attrs.to ?? '',
    ...(group && node.attrs.participant ? { participant: node.attrs.participant } : {}),
    ...(node.attrs.type ? { type: node.attrs.type } : {}),
  });
};

// Contacts encrypt strictly one message at a time per contact, so sessions and pre-keys never race.
const contactLocks = new WeakMap<Contact, Promise<unknown>>();
export const serially = <T>(contact: Contact, job: () => Promise<T>): Promise<T> => {
  const prev = contactLocks.get(contact) ?? Promise.resolve();
  const next = prev.then(job, job);
  contactLocks.set(contact, next.catch(() => {}));
  return next;
};

const resendAfterRetry = (net: Network, contact: Contact, account: Account, deviceId: number, id: string) =>
  serially(contact, async () => {
    const sent = contact.sent.get(id);
    const device = account.devices.get(deviceId);
    if (!sent || !device) return;
    if (sent.group) return resendGroupMessage(net, contact, account, deviceId, id, { message: sent.message, group: sent.group });
    contact.dropSessionsWith(account.lid, deviceId);
    const { encType, ciphertext } = await contact.encryptFor(account.lid, deviceId, sent.message, deviceBundle(device));
    net.deliver(account, device, {
      tag: 'message',
      attrs: { ...contact.senderAttrs(), id, t: String(now()), type: 'text', notify: contact.name },
      content: [{ tag: 'enc', attrs: { v: '2', type: encType, count: '1' }, content: ciphertext }],
    });
  });

/** The contact sends a message to every linked device of the account; returns the message id. */
export const sendFromContact = (net: Network, contact: Contact, account: Account, message: proto.IMessage, opts: { id?: string } = {}) =>
  serially(contact, async () => {
    const id = opts.id ?? newMessageId();
    const t = String(now());
    contact.rememberSent(id, message);
    for (const device of account.devices.values()) {
      const { encType, ciphertext } = await contact.encryptFor(account.lid, device.id, message, deviceBundle(device));
      net.deliver(account, device, {
        tag: 'message',
        attrs: { ...contact.senderAttrs(), id, t, type: 'text', notify: contact.name },
        content: [{ tag: 'enc', attrs: { v: '2', type: encType }, content: ciphertext }],
      });
    }
    net.onChange();
    return id;
  });

/** The contact's phone reports messages delivered or read, to the gateway device that sent them. */
export const sendContactReceipt = (net: Network, contact: Contact, ids: string[], type: 'delivery' | 'read') => {
  // One receipt per sending device and chat (a group's receipts go out from the group).
  const bySender = new Map<string, { phone: string; device: number; group?: string; ids: string[] }>();
  for (const id of ids) {
    const sender = net.sentByGateway.get(id);
    if (!sender) continue;
    const key = `${sender.phone}:${sender.device}:${sender.group ?? ''}`;
    if (!bySender.has(key)) bySender.set(key, { ...sender, ids: [] });
    bySender.get(key)!.ids.push(id);
  }
  for (const { phone, device: deviceId, group: groupJid, ids: list } of bySender.values()) {
    const account = net.accounts.get(phone);
    const device = account?.devices.get(deviceId);
    if (!account || !device) continue;
    const group = groupJid ? net.groups.get(groupJid) : undefined;
    if (groupJid && !group) continue;
    // In a group, WhatsApp reports each member's receipt separately: from the group, naming the member.
    const origin: Record<string, string> = group
      ? { from: group.jid, participant: participantAttrs(group, { kind: 'contact', contact }).participant! }
      : { from: contact.pnJid };
    const [first, ...rest] = list as [string, ...string[]];
    net.deliver(account, device, {
      tag: 'receipt',
      attrs: { ...origin, id: first, t: String(now()), ...(type === 'read' ? { type: 'read' } : {}) },
      ...(rest.length ? { content: [{ tag: 'list', attrs: {}, content: rest.map(id => ({ tag: 'item', attrs: { id } })) }] } : {}),
    });
    net.receipts.push({
      direction: 'contact-to-gateway',
      contact: contact.phone,
      account: phone,
      device: deviceId,
      ids: list,
      type,
      t: now(),
      at: Date.now(),
      ...(groupJid ? { group: groupJid } : {}),
    });
  }
  net.onChange();
};
