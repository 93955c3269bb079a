// Groups: the model (jid, subject, creator, members by phone number, admins, description, settings,
// invite code) and the xmlns="w:g2" queries Baileys makes about them (changes: group-admin.ts). Members
// are emulator contacts and accounts. A group is addressed by LID (as new WhatsApp groups are, and what
// Baileys 7 assumes when it sends) or by phone number.
import { randomInt } from 'node:crypto';
import type { BinaryNode } from '@whiskeysockets/baileys';
import type { Account } from './accounts.js';
import type { Contact } from './contacts.js';
import type { Network } from './network.js';
import type { Connection } from './session.js';
import { answerGroupChange } from './group-admin.js';
import { children, iqError, iqResult, now } from './stanzas.js';

export type AddressingMode = 'lid' | 'pn';

export type GroupMember = { kind: 'contact'; contact: Contact } | { kind: 'account'; account: Account };

export type GroupRole = 'superadmin' | 'admin' | 'member';

/** A group's description as WhatsApp keeps it: each version has an id, which the next change names as `prev`. */
export type GroupDescription = { id: string; body: string; owner: string; t: number };

export class Group {
  /** Who set the subject last (phone number) and when; the creator at creation. */
  subjectOwner: string;
  subjectTime: number;
  description: GroupDescription | undefined;
  /** Admins by phone number besides the creator, who is the superadmin while a member. */
  readonly admins = new Set<string>();
  /** Only admins may send. */
  announce = false;
  /** Only admins may change subject, description and settings. */
  locked = false;
  /** The code of https://chat.whatsapp.com/<code>; a revoke makes a new one. */
  inviteCode = newInviteCode();
  /** Codes revoked since: joining with one is 410 gone. */
  readonly revokedInviteCodes: string[] = [];
  /** Members who left on their own: an admin adding one back is refused (408 recently left), for good here (WhatsApp lifts it after a while). */
  readonly recentlyLeft = new Set<string>();

  constructor(
    readonly jid: string,
    public subject: string,
    /** Phone number of the member that created the group (its superadmin). */
    readonly creator: string,
    readonly creation: number,
    /** Members by phone number, in the order they were added. */
    readonly participants: string[],
    readonly addressingMode: AddressingMode = 'lid',
  ) {
    this.subjectOwner = creator;
    this.subjectTime = creation;
  }

  has(phone: string) {
    return this.participants.includes(phone);
  }

  roleOf(phone: string): GroupRole | undefined {
    if (!this.has(phone)) return undefined;
    if (phone === this.creator) return 'superadmin';
    return this.admins.has(phone) ? 'admin' : 'member';
  }

  isAdmin(phone: string) {
    const role = this.roleOf(phone);
    return role === 'superadmin' || role === 'admin';
  }

  add(phone: string) {
    if (!this.has(phone)) this.participants.push(phone);
    this.recentlyLeft.delete(phone);
  }

  remove(phone: string) {
    const i = this.participants.indexOf(phone);
    if (i !== -1) this.participants.splice(i, 1);
    this.admins.delete(phone);
  }

  toJSON() {
    return {
      jid: this.jid,
      subject: this.subject,
      creator: this.creator,
      creation: this.creation,
      participants: this.participants,
      addressingMode: this.addressingMode,
      subjectOwner: this.subjectOwner,
      subjectTime: this.subjectTime,
      description: this.description,
      admins: [...this.admins],
      announce: this.announce,
      locked: this.locked,
      inviteCode: this.inviteCode,
      revokedInviteCodes: this.revokedInviteCodes,
      recentlyLeft: [...this.recentlyLeft],
    };
  }

  /** Snapshots written before group management existed have only the first six fields. */
  static fromJSON(raw: Partial<ReturnType<Group['toJSON']>> & Pick<ReturnType<Group['toJSON']>, 'jid' | 'subject' | 'creator' | 'creation' | 'participants'>) {
    const g = new Group(raw.jid, raw.subject, raw.creator, raw.creation, raw.participants, raw.addressingMode);
    if (raw.subjectOwner) g.subjectOwner = raw.subjectOwner;
    if (raw.subjectTime) g.subjectTime = raw.subjectTime;
    g.description = raw.description;
    for (const a of raw.admins ?? []) g.admins.add(a);
    g.announce = raw.announce ?? false;
    g.locked = raw.locked ?? false;
    if (raw.inviteCode) g.inviteCode = raw.inviteCode;
    g.revokedInviteCodes.push(...(raw.revokedInviteCodes ?? []));
    for (const p of raw.recentlyLeft ?? []) g.recentlyLeft.add(p);
    return g;
  }
}

const INVITE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Invite codes look like WhatsApp's: 22 characters of letters and digits. */
export const newInviteCode = () => Array.from({ length: 22 }, () => INVITE_ALPHABET[randomInt(0, INVITE_ALPHABET.length)]).join('');

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
  const lidMode = group.addressingMode === 'lid';
  /** A member as the group names it, with the other id under `altName` (LID groups: the number; PN groups: the LID). */
  const named = (phone: string, name: string, altName: string) => {
    const member = memberOf(net, phone);
    if (!member) return {};
    const { jid, alt } = memberJid(group, member);
    return { [name]: jid, ...(lidMode ? { [altName]: alt } : {}) };
  };
  const participants: BinaryNode[] = [];
  for (const phone of group.participants) {
    const member = memberOf(net, phone);
    if (!member) continue;
    const { jid, alt } = memberJid(group, member);
    // LID groups name each member by LID and give its number as phone_number; PN groups the reverse.
    const attrs: Record<string, string> = { jid, ...(lidMode ? { phone_number: alt } : { lid: alt }) };
    const role = group.roleOf(phone);
    if (role !== 'member') attrs.type = role!;
    participants.push({ tag: 'participant', attrs });
  }
  const settings: BinaryNode[] = [];
  if (group.description) {
    const d = group.description;
    settings.push({
      tag: 'description',
      attrs: { id: d.id, t: String(d.t), ...named(d.owner, 'participant', 'participant_pn') },
      content: [{ tag: 'body', attrs: {}, content: Buffer.from(d.body, 'utf8') }],
    });
  }
  if (group.announce) settings.push({ tag: 'announcement', attrs: {} });
  if (group.locked) settings.push({ tag: 'locked', attrs: {} });
  return {
    tag: 'group',
    attrs: {
      id: group.jid.split('@')[0]!,
      subject: group.subject,
      s_t: String(group.subjectTime),
      creation: String(group.creation),
      size: String(participants.length),
      addressing_mode: group.addressingMode,
      ...named(group.creator, 'creator', 'creator_pn'),
      ...named(group.subjectOwner, 's_o', 's_o_pn'),
    },
    content: [...settings, ...participants],
  };
};

/**
 * xmlns="w:g2": a group's metadata (sock.groupMetadata) and the groups an account is in
 * (groupFetchAllParticipating); everything that changes a group is in group-admin.ts.
 */
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
  const answered = first && answerGroupChange(net, conn, iq, first);
  if (answered) return answered;
  // Anything else (join requests, ephemeral settings, communities…): not modelled. An error (rather than
  // an empty result) makes Baileys reject the call instead of failing to parse a missing <group>.
  net.unknownQueries.push({ xmlns: 'w:g2', type: iq.attrs.type ?? '', child: first?.tag ?? '', from: conn.account!.deviceJid(conn.device!.id), at: now() });
  return iqError(iq, 501, 'feature-not-implemented');
};
