// Groups: the model (jid, subject, creator, members by phone number) and the xmlns="w:g2" queries
// Baileys makes about them. Members are emulator contacts and accounts. A group is addressed by LID
// (as new WhatsApp groups are, and what Baileys 7 assumes when it sends) or by phone number.
import { randomInt } from 'node:crypto';
import type { BinaryNode } from '@whiskeysockets/baileys';
import type { Account } from './accounts.js';
import type { Contact } from './contacts.js';
import type { Network } from './network.js';
import type { Connection } from './session.js';
import { children, iqError, iqResult, now } from './stanzas.js';

export type AddressingMode = 'lid' | 'pn';

export type GroupMember = { kind: 'contact'; contact: Contact } | { kind: 'account'; account: Account };

export class Group {
  constructor(
    readonly jid: string,
    readonly subject: string,
    /** Phone number of the member that created the group (its superadmin). */
    readonly creator: string,
    readonly creation: number,
    /** Members by phone number, in the order they were added. */
    readonly participants: string[],
    readonly addressingMode: AddressingMode = 'lid',
  ) {}

  has(phone: string) {
    return this.participants.includes(phone);
  }

  toJSON() {
    return { jid: this.jid, subject: this.subject, creator: this.creator, creation: this.creation, participants: this.participants, addressingMode: this.addressingMode };
  }

  static fromJSON(raw: ReturnType<Group['toJSON']>) {
    return new Group(raw.jid, raw.subject, raw.creator, raw.creation, raw.participants, raw.addressingMode);
  }
}

/** Real group jids look like 120363xxxxxxxxxxxx@g.us. */
export const newGroupJid = (taken: (jid: string) => boolean): string => {
  for (;;) {
    const jid = `120363${Array.from({ length: 12 }, () => randomInt(0, 10)).join('')}@g.us`;
    if (!taken(jid)) return jid;
  }
};

/** Accepts a full group jid or just its id part. */
export const normalizeGroupJid = (jid: string) => (jid.includes('@') ? jid : `${jid}@g.us`);

export const memberOf = (net: Network, phone: string): GroupMember | undefined => {
  const contact = net.contacts.get(phone);
  if (contact) return { kind: 'contact', contact };
  const account = net.accounts.get(phone);
  return account && { kind: 'account', account };
};

const idsOf = (member: GroupMember) => (member.kind === 'contact' ? member.contact : member.account);

/**
 * How a member is named inside the group: its LID in a LID-addressed group, its phone number
 * otherwise; `alt` is the other one (what WhatsApp sends as phone_number / participant_pn, or lid / participant_lid).
 */
export const memberJid = (group: Group, member: GroupMember, device?: number) => {
  const ids = idsOf(member);
  const suffix = device ? `:${device}` : '';
  const lid = `${ids.lid}${suffix}@lid`;
  const pn = `${ids.phone}${suffix}@s.whatsapp.net`;
  return group.addressingMode === 'lid' ? { jid: lid, alt: ids.pnJid } : { jid: pn, alt: ids.lidJid };
};

/** Attributes naming the sender of a group stanza (message or receipt) the way WhatsApp does for the group's addressing mode. */
export const participantAttrs = (group: Group, member: GroupMember, device?: number): Record<string, string> => {
  const { jid, alt } = memberJid(group, member, device);
  return group.addressingMode === 'lid'
    ? { participant: jid, participant_pn: alt, addressing_mode: 'lid' }
    : { participant: jid, participant_lid: alt, addressing_mode: 'pn' };
};

/** The <group> node extractGroupMetadata (Socket/groups.js) reads. */
export const groupNode = (net: Network, group: Group): BinaryNode => {
  const creator = memberOf(net, group.creator);
  const lidMode = group.addressingMode === 'lid';
  const creatorAttrs: Record<string, string> = {};
  if (creator) {
    const { jid, alt } = memberJid(group, creator);
    Object.assign(creatorAttrs, { creator: jid, s_o: jid }, lidMode ? { creator_pn: alt, s_o_pn: alt } : {});
  }
  const participants: BinaryNode[] = [];
  for (const phone of group.participants) {
    const member = memberOf(net, phone);
    if (!member) continue;
    const { jid, alt } = memberJid(group, member);
    // LID groups name each member by LID and give its number as phone_number; PN groups the reverse.
    const attrs: Record<string, string> = { jid, ...(lidMode ? { phone_number: alt } : { lid: alt }) };
    if (phone === group.creator) attrs.type = 'superadmin';
    participants.push({ tag: 'participant', attrs });
  }
  return {
    tag: 'group',
    attrs: {
      id: group.jid.split('@')[0]!,
      subject: group.subject,
      s_t: String(group.creation),
      creation: String(group.creation),
      size: String(participants.length),
      addressing_mode: group.addressingMode,
      ...creatorAttrs,
    },
    content: participants,
  };
};

/** xmlns="w:g2": a group's metadata (sock.groupMetadata) and the groups an account is in (groupFetchAllParticipating). */
export const answerGroupIq = (net: Network, conn: Connection, iq: BinaryNode): BinaryNode => {
  const first = children(iq)[0];
  const phone = conn.account!.phone;
  if (iq.attrs.type === 'get' && first?.tag === 'query') {
    const group = net.groups.get(iq.attrs.to ?? '');
    if (!group) return iqError(iq, 404, 'item-not-found');
    if (!group.has(phone)) return iqError(iq, 403, 'forbidden');
    return iqResult(iq, [groupNode(net, group)]);
  }
  if (iq.attrs.type === 'get' && first?.tag === 'participating') {
    const mine = [...net.groups.values()].filter(g => g.has(phone));
    return iqResult(iq, [{ tag: 'groups', attrs: {}, content: mine.map(g => groupNode(net, g)) }]);
  }
  // Creating groups, changing subject or members, invites…: not modelled. An error (rather than an
  // empty result) makes Baileys reject the call instead of failing to parse a missing <group>.
  net.unknownQueries.push({ xmlns: 'w:g2', type: iq.attrs.type ?? '', child: first?.tag ?? '', from: conn.account!.deviceJid(conn.device!.id), at: now() });
  return iqError(iq, 501, 'feature-not-implemented');
};
