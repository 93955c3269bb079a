// Changing groups: the xmlns="w:g2" sets (and the invite-code get) Baileys sends from Socket/groups.js,
// answered as WhatsApp does, and the w:gp2 notifications WhatsApp then sends to every linked device of
// every member account (Baileys turns them into groups.upsert / groups.update /
// group-participants.update, which is how a gateway learns of changes others made).
//
// Who may do what, as WhatsApp decides it: a member who is not an admin gets 401 not-authorized for
// participant changes, settings and invite codes, and for subject and description changes in a locked
// group; an account not in the group gets 403 forbidden; an unknown group 404 item-not-found.
// Participant changes answer a status per participant (200, or 403 privacy, 404 not there, 406 not
// acceptable, 408 recently left, 409 already in).
import type { BinaryNode } from '@whiskeysockets/baileys';
import { memberJid, memberOf, newInviteCode, normalizeGroupJid, participantAttrs, groupNode, type Group } from './groups.js';
import type { Network } from './network.js';
import type { Connection } from './session.js';
import { bytesOf, children, iqError, iqResult, newStanzaId, now } from './stanzas.js';

const MAX_SUBJECT_CHARS = 100;
const MAX_DESCRIPTION_CHARS = 2048;
const PARTICIPANT_ACTIONS = new Set(['add', 'remove', 'promote', 'demote']);
const SETTINGS = new Set(['announcement', 'not_announcement', 'locked', 'unlocked']);

/** The phone number a participant jid (phone or LID, any device) belongs to, if anyone's. */
const phoneOf = (net: Network, jid: string | undefined): string | undefined => {
  const owner = jid ? net.resolve(jid) : undefined;
  return owner && (owner.kind === 'contact' ? owner.contact.phone : owner.account.phone);
};

/** A member as a notification's <participant> names it (with the other id, as in metadata). */
const participantNode = (net: Network, group: Group, phone: string): BinaryNode | undefined => {
  const member = memberOf(net, phone);
  if (!member) return undefined;
  const { jid, alt } = memberJid(group, member);
  const role = group.roleOf(phone);
  return {
    tag: 'participant',
    attrs: { jid, ...(group.addressingMode === 'lid' ? { phone_number: alt } : { lid: alt }), ...(role && role !== 'member' ? { type: role } : {}) },
  };
};

/**
 * Tells every linked device of every member account (and of `also`: members who just left or were
 * removed) what `actor` changed. Sent after the iq's answer, as WhatsApp does.
 */
const notify = (net: Network, group: Group, actor: string, content: BinaryNode, also: string[] = []) => {
  const member = memberOf(net, actor);
  const node: BinaryNode = {
    tag: 'notification',
    attrs: {
      from: group.jid,
      type: 'w:gp2',
      id: newStanzaId(),
      t: String(now()),
      ...(member ? participantAttrs(group, member) : {}),
      ...(member ? { notify: member.kind === 'contact' ? member.contact.name : member.account.name } : {}),
    },
    content: [content],
  };
  const phones = [...new Set([...group.participants, ...also])];
  setImmediate(() => {
    for (const phone of phones) {
      const m = memberOf(net, phone);
      if (m?.kind !== 'account') continue;
      for (const device of m.account.devices.values()) net.deliver(m.account, device, { ...node, attrs: { ...node.attrs, id: newStanzaId() } });
    }
  });
};

/** The group an iq names in `to`, with the acting account's standing in it, or the error WhatsApp answers. */
const standing = (net: Network, iq: BinaryNode, phone: string): { group: Group } | { error: BinaryNode } => {
  const group = net.groups.get(normalizeGroupJid(iq.attrs.to ?? ''));
  if (!group) return { error: iqError(iq, 404, 'item-not-found') };
  if (!group.has(phone)) return { error: iqError(iq, 403, 'forbidden') };
  return { group };
};

const notAdmin = (iq: BinaryNode) => iqError(iq, 401, 'not-authorized');

/** Answers a group change, or undefined when it is not one modelled here. */
export const answerGroupChange = (net: Network, conn: Connection, iq: BinaryNode, first: BinaryNode): BinaryNode | undefined => {
  const me = conn.account!.phone;
  const type = iq.attrs.type;
  const toServer = iq.attrs.to === '@g.us';

  if (toServer && type === 'set' && first.tag === 'create') return create(net, iq, first, me);
  if (toServer && type === 'set' && first.tag === 'leave') return leave(net, iq, first, me);
  if (toServer && first.tag === 'invite' && first.attrs.code && (type === 'set' || type === 'get')) {
    const found = groupByInvite(net, first.attrs.code);
    if (typeof found === 'number') return iqError(iq, found, found === 410 ? 'gone' : 'not-acceptable');
    if (type === 'get') return iqResult(iq, [groupNode(net, found)]); // groupGetInviteInfo
    join(net, found, me);
    return iqResult(iq, [{ tag: 'group', attrs: { jid: found.jid } }]); // groupAcceptInvite
  }
  if (toServer) return undefined;

  const isChange = type === 'set' && (PARTICIPANT_ACTIONS.has(first.tag) || SETTINGS.has(first.tag) || first.tag === 'subject' || first.tag === 'description');
  const isInvite = first.tag === 'invite' && !first.attrs.code && (type === 'get' || type === 'set');
  if (!isChange && !isInvite) return undefined;

  const found = standing(net, iq, me);
  if ('error' in found) return found.error;
  const { group } = found;
  const admin = group.isAdmin(me);

  if (PARTICIPANT_ACTIONS.has(first.tag)) return admin ? participants(net, iq, first, group, me) : notAdmin(iq);
  if (SETTINGS.has(first.tag)) {
    if (!admin) return notAdmin(iq);
    if (first.tag === 'announcement' || first.tag === 'not_announcement') group.announce = first.tag === 'announcement';
    else group.locked = first.tag === 'locked';
    net.onChange();
    notify(net, group, me, { tag: first.tag, attrs: {} });
    return iqResult(iq);
  }
  if (first.tag === 'invite') {
    if (!admin) return notAdmin(iq);
    if (type === 'set') {
      group.revokedInviteCodes.push(group.inviteCode);
      group.inviteCode = newInviteCode();
      net.onChange();
      notify(net, group, me, { tag: 'invite', attrs: { code: group.inviteCode } });
    }
    return iqResult(iq, [{ tag: 'invite', attrs: { code: group.inviteCode } }]);
  }
  // Subject and description: anyone in an unlocked group, only admins in a locked one.
  if (group.locked && !admin) return notAdmin(iq);
  if (first.tag === 'subject') {
    const subject = bytesOf(first)?.toString('utf8').trim() ?? '';
    if (!subject || [...subject].length > MAX_SUBJECT_CHARS) return iqError(iq, 400, 'bad-request');
    group.subject = subject;
    group.subjectOwner = me;
    group.subjectTime = now();
    net.onChange();
    notify(net, group, me, { tag: 'subject', attrs: { subject, s_t: String(group.subjectTime) } });
    return iqResult(iq);
  }
  // description: <description id=new prev=current><body>…</body></description>, or delete="true".
  if (group.description && first.attrs.prev !== group.description.id) return iqError(iq, 409, 'conflict');
  if (first.attrs.delete === 'true') {
    const id = group.description?.id ?? newStanzaId();
    group.description = undefined;
    net.onChange();
    notify(net, group, me, { tag: 'description', attrs: { id, delete: 'true' } });
    return iqResult(iq);
  }
  const body = bytesOf(children(first).find(c => c.tag === 'body'))?.toString('utf8') ?? '';
  if (!first.attrs.id || !body || [...body].length > MAX_DESCRIPTION_CHARS) return iqError(iq, 400, 'bad-request');
  group.description = { id: first.attrs.id, body, owner: me, t: now() };
  net.onChange();
  notify(net, group, me, { tag: 'description', attrs: { id: first.attrs.id }, content: [{ tag: 'body', attrs: {}, content: Buffer.from(body, 'utf8') }] });
  return iqResult(iq);
};

/** The group an invite code opens, or WhatsApp's status: 410 gone for a revoked code, 406 for one that never was. */
export const groupByInvite = (net: Network, code: string): Group | 410 | 406 => {
  for (const g of net.groups.values()) if (g.inviteCode === code) return g;
  for (const g of net.groups.values()) if (g.revokedInviteCodes.includes(code)) return 410;
  return 406;
};

/** Joining through the group's link: anyone, even someone who left (no 408 then); the members are told of the add. */
export const join = (net: Network, group: Group, phone: string) => {
  if (group.has(phone)) return;
  group.add(phone);
  net.onChange();
  const node = participantNode(net, group, phone);
  if (node) notify(net, group, phone, { tag: 'add', attrs: { reason: 'invite' }, content: [node] });
};

/**
 * <create subject key><participant jid/>…</create>: the creator and every participant that can be added.
 * The answer's <group> also lists, as WhatsApp's does, each one that could not be, with its status
 * (`error="403"` and an <add_request> for privacy settings, `error="404"` for a number without WhatsApp);
 * Baileys' extractGroupMetadata keeps those among `participants`, so the group's own metadata is the truth.
 */
const create = (net: Network, iq: BinaryNode, first: BinaryNode, me: string): BinaryNode => {
  const subject = first.attrs.subject?.trim() ?? '';
  if (!subject || [...subject].length > MAX_SUBJECT_CHARS) return iqError(iq, 400, 'bad-request');
  const added: string[] = [];
  const refused: { jid: string; status: 403 | 404 }[] = [];
  for (const p of children(first)) {
    if (p.tag !== 'participant' || !p.attrs.jid) continue;
    const phone = phoneOf(net, p.attrs.jid);
    if (!phone) refused.push({ jid: p.attrs.jid, status: 404 });
    else if (net.refusesGroupAdds.has(phone)) refused.push({ jid: p.attrs.jid, status: 403 });
    else if (phone !== me && !added.includes(phone)) added.push(phone);
  }
  const group = net.createGroup({ subject, participants: [me, ...added], creator: me });
  notify(net, group, me, { tag: 'create', attrs: {}, content: [groupNode(net, group)] });
  const answer = groupNode(net, group);
  const expiration = String(now() + 3 * 86_400);
  for (const { jid, status } of refused) {
    (answer.content as BinaryNode[]).push({
      tag: 'participant',
      attrs: { jid, error: String(status) },
      ...(status === 403 ? { content: [{ tag: 'add_request', attrs: { code: group.inviteCode, expiration } }] } : {}),
    });
  }
  return iqResult(iq, [answer]);
};

/** <leave><group id/>…</leave>: the account leaves each group; the others are told it removed itself. */
const leave = (net: Network, iq: BinaryNode, first: BinaryNode, me: string): BinaryNode => {
  const groups: Group[] = [];
  for (const g of children(first).filter(c => c.tag === 'group')) {
    const group = net.groups.get(normalizeGroupJid(g.attrs.id ?? ''));
    if (!group) return iqError(iq, 404, 'item-not-found');
    if (!group.has(me)) return iqError(iq, 403, 'forbidden');
    groups.push(group);
  }
  if (groups.length === 0) return iqError(iq, 400, 'bad-request');
  for (const group of groups) {
    const node = participantNode(net, group, me);
    group.remove(me);
    group.recentlyLeft.add(me);
    if (node) notify(net, group, me, { tag: 'remove', attrs: {}, content: [node] }, [me]);
  }
  net.onChange();
  return iqResult(iq, [{ tag: 'leave', attrs: {}, content: groups.map(g => ({ tag: 'group', attrs: { id: g.jid } })) }]);
};

/** <add|remove|promote|demote><participant jid/>…: a status per participant, and one notification for those it applied to. */
const participants = (net: Network, iq: BinaryNode, first: BinaryNode, group: Group, me: string): BinaryNode => {
  const action = first.tag;
  const asked = children(first).filter(c => c.tag === 'participant' && c.attrs.jid);
  if (asked.length === 0) return iqError(iq, 400, 'bad-request');
  const results: BinaryNode[] = [];
  const applied: string[] = [];
  for (const p of asked) {
    const jid = p.attrs.jid!;
    const phone = phoneOf(net, jid);
    const status = phone ? apply(net, group, action, phone, me) : 404;
    if (status === 200) applied.push(phone!);
    const attrs: Record<string, string> = { jid, ...(status === 200 ? {} : { error: String(status) }) };
    // A privacy refusal comes with what an invite to that person needs (Baileys hands it through in `content`).
    const content = status === 403 && action === 'add' ? [{ tag: 'add_request', attrs: { code: group.inviteCode, expiration: String(now() + 3 * 86_400) } }] : undefined;
    results.push({ tag: 'participant', attrs, ...(content ? { content } : {}) });
  }
  if (applied.length) {
    net.onChange();
    const nodes = applied.map(phone => participantNode(net, group, phone)).filter((n): n is BinaryNode => !!n);
    notify(net, group, me, { tag: action, attrs: {}, content: nodes }, action === 'remove' ? applied : []);
  }
  return iqResult(iq, [{ tag: action, attrs: {}, content: results }]);
};

/** One participant change: WhatsApp's status for it (200 when done). */
const apply = (net: Network, group: Group, action: string, phone: string, me: string): number => {
  switch (action) {
    case 'add':
      if (group.has(phone)) return 409;
      if (net.refusesGroupAdds.has(phone)) return 403;
      if (group.recentlyLeft.has(phone)) return 408;
      group.add(phone);
      return 200;
    case 'remove':
      if (!group.has(phone)) return 404;
      if (phone === group.creator && me !== group.creator) return 406;
      group.remove(phone);
      return 200;
    case 'promote':
      if (!group.has(phone)) return 404;
      if (phone !== group.creator) group.admins.add(phone);
      return 200;
    default: // demote
      if (!group.has(phone)) return 404;
      if (phone === group.creator) return 406;
      group.admins.delete(phone);
      return 200;
  }
};
