// A contact's changes to messages already sent, built as WhatsApp's apps build them: an edit or a revoke
// (a protocolMessage naming the target's key), a reaction, a poll (with its messageSecret) and a vote in a
// poll (encrypted with that secret, as WhatsApp does: HMAC-derived key, AES-256-GCM). Sent like any other
// message of the contact's (messaging.ts, group-messaging.ts). Driven by POST /control/contacts/:phone/message-changes.
import { createHash, randomBytes } from 'node:crypto';
import { aesEncryptGCM, hmacSign, jidNormalizedUser, proto } from '@whiskeysockets/baileys';
import type { Contact } from './contacts.js';
import { sendGroupFromContact } from './group-messaging.js';
import { sendFromContact } from './messaging.js';
import type { Network } from './network.js';

export const messageChangeKinds = ['edit', 'revoke', 'reaction', 'poll', 'vote'] as const;
export type MessageChangeKind = (typeof messageChangeKinds)[number];

export interface ContactChange {
  kind: MessageChangeKind;
  /** 1:1: the account's phone; or `group`: a group jid. */
  to?: string;
  group?: string;
  /** The message changed (edit, revoke, reaction, vote): its id. */
  target?: string;
  /** Who sent the target, by phone: default the contact itself for edit and revoke, else the account. */
  targetSender?: string;
  text?: string;
  emoji?: string;
  poll?: { name: string; options: string[]; selectableCount?: number };
  /** A vote: the option names chosen (empty retracts). */
  options?: string[];
}

export class ChangeError extends Error {}

/** Polls the network's contacts created: their secret and options, for the votes of their fellow members (who saw them on their phones). */
const createdPolls = new WeakMap<Network, Map<string, { secret: Buffer; options: string[]; creator: string }>>();

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** WhatsApp's poll vote encryption (the inverse of Baileys' decryptPollVote). */
export function encryptPollVote(options: string[], ctx: { pollId: string; creatorJid: string; voterJid: string; secret: Uint8Array }): proto.Message.IPollEncValue {
  const sign = Buffer.concat([Buffer.from(ctx.pollId), Buffer.from(ctx.creatorJid), Buffer.from(ctx.voterJid), Buffer.from('Poll Vote'), new Uint8Array([1])]);
  const key0 = hmacSign(Buffer.from(ctx.secret), new Uint8Array(32) as Buffer, 'sha256');
  const key = hmacSign(sign, key0, 'sha256');
  const iv = randomBytes(12);
  const plain = proto.Message.PollVoteMessage.encode({ selectedOptions: options.map(sha256) }).finish();
  return { encPayload: aesEncryptGCM(Buffer.from(plain), key, iv, Buffer.from(`${ctx.pollId}\u0000${ctx.voterJid}`)), encIv: iv };
}

/** The poll `id` as the contact knows it: one it created, or one it received (its inbox has the secret). */
function pollFor(net: Network, contact: Contact, id: string) {
  const own = createdPolls.get(net)?.get(id);
  if (own) return own;
  const entry = contact.inbox.find(e => e.id === id);
  const m = entry?.message as { messageContextInfo?: { messageSecret?: string } } & Record<string, { options?: { optionName?: string }[] } | undefined>;
  const poll = m?.pollCreationMessage ?? m?.pollCreationMessageV2 ?? m?.pollCreationMessageV3;
  const secret = m?.messageContextInfo?.messageSecret;
  if (!entry || !poll || !secret) return undefined;
  return { secret: Buffer.from(secret, 'base64'), options: (poll.options ?? []).map(o => o.optionName ?? ''), creator: jidNormalizedUser(entry.from) };
}

/** Sends the change from the contact; answers the id of the message that carries it. */
export async function sendContactChange(net: Network, contact: Contact, c: ContactChange): Promise<{ id: string }> {
  if ((c.to === undefined) === (c.group === undefined)) throw new ChangeError('give either to or group');
  const group = c.group === undefined ? undefined : net.group(c.group);
  if (group && !group.has(contact.phone)) throw new ChangeError(`${contact.phone} is not a participant of ${group.jid}`);
  const account = group ? undefined : net.account(c.to!.split('@')[0]!);
  const chatJid = group ? group.jid : account!.pnJid;
  const accountPhone = account?.phone;
  const key = (): proto.IMessageKey => {
    if (!c.target) throw new ChangeError(`${c.kind} needs target`);
    const sender = c.targetSender ?? (c.kind === 'edit' || c.kind === 'revoke' ? contact.phone : (accountPhone ?? ''));
    const fromMe = sender === contact.phone;
    return { remoteJid: chatJid, fromMe, id: c.target, ...(group && !fromMe && sender ? { participant: `${sender}@s.whatsapp.net` } : {}) };
  };
  let message: proto.IMessage;
  switch (c.kind) {
    case 'edit':
      if (!c.text) throw new ChangeError('edit needs text');
      message = { protocolMessage: { key: key(), type: proto.Message.ProtocolMessage.Type.MESSAGE_EDIT, editedMessage: { conversation: c.text }, timestampMs: Date.now() } };
      break;
    case 'revoke':
      message = { protocolMessage: { key: key(), type: proto.Message.ProtocolMessage.Type.REVOKE } };
      break;
    case 'reaction':
      message = { reactionMessage: { key: key(), text: c.emoji ?? '', senderTimestampMs: Date.now() } };
      break;
    case 'poll': {
      if (!c.poll || c.poll.options.length < 2) throw new ChangeError('poll needs a name and at least two options');
      const secret = randomBytes(32);
      message = {
        pollCreationMessageV3: { name: c.poll.name, options: c.poll.options.map(optionName => ({ optionName })), selectableOptionsCount: c.poll.selectableCount ?? 0 },
        messageContextInfo: { messageSecret: secret },
      };
      const id = await send(message);
      const polls = createdPolls.get(net) ?? new Map();
      polls.set(id, { secret, options: c.poll.options, creator: contact.pnJid });
      createdPolls.set(net, polls);
      return { id };
    }
    case 'vote': {
      const k = key();
      const poll = pollFor(net, contact, k.id!);
      if (!poll) throw new ChangeError(`${contact.phone} knows no poll ${k.id}`);
      const unknown = (c.options ?? []).filter(o => !poll.options.includes(o));
      if (unknown.length) throw new ChangeError(`not options of the poll: ${unknown.join(', ')}`);
      if (poll.creator === contact.pnJid) Object.assign(k, { fromMe: true, participant: undefined });
      else Object.assign(k, { fromMe: false, ...(group ? { participant: poll.creator } : {}) });
      const vote = encryptPollVote(c.options ?? [], { pollId: k.id!, creatorJid: poll.creator, voterJid: contact.pnJid, secret: poll.secret });
      message = { pollUpdateMessage: { pollCreationMessageKey: k, vote, senderTimestampMs: Date.now() } };
      break;
    }
  }
  return { id: await send(message) };

  function send(m: proto.IMessage) {
    return group ? sendGroupFromContact(net, contact, group, m) : sendFromContact(net, contact, account!, m);
  }
}
