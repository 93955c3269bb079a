// Group management on a session's Baileys socket: the `group` command (protocol/groups.ts GroupAction)
// mapped to Baileys' group calls, Baileys' GroupMetadata mapped to our Group in exactly one place, and
// WhatsApp's refusals mapped to command errors. After every change the session's group memory is kept
// right: the metadata a group send encrypts for is dropped, and a new subject is what names the chat.
import type { GroupMetadata, GroupParticipant as BaileysParticipant, WASocket } from '@whiskeysockets/baileys';
import { isLidUser, isPnUser, jidNormalizedUser } from '@whiskeysockets/baileys';
import type { Group, GroupAction, GroupAnswer, GroupParticipant, GroupSummary, ParticipantResult } from '../protocol/groups.js';
import { participantResultCode } from '../protocol/groups.js';
import { CommandError } from './whatsapp.js';

/** What group management needs of a session (WhatsAppSession.groupContext). */
export interface GroupContext {
  sock: Pick<
    WASocket,
    | 'groupCreate'
    | 'groupFetchAllParticipating'
    | 'groupMetadata'
    | 'groupParticipantsUpdate'
    | 'groupUpdateSubject'
    | 'groupUpdateDescription'
    | 'groupSettingUpdate'
    | 'groupInviteCode'
    | 'groupRevokeInvite'
    | 'groupLeave'
  >;
  /** Drop what the session remembers of the group's metadata (participants, settings). */
  forget(jid: string): void;
  /** The group's subject now (it names the group's chat on the messages that follow). */
  rememberSubject(jid: string, subject: string): void;
}

const iso = (seconds: number | undefined) => (seconds && Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : null);
/** '923001234567@s.whatsapp.net' → '+923001234567'. */
const e164 = (jid: string | undefined) => (jid && isPnUser(jid) ? `+${jidNormalizedUser(jid).split('@')[0]}` : null);

const participantOf = (p: BaileysParticipant): GroupParticipant => ({
  jid: p.id,
  phone_number: e164(p.phoneNumber) ?? e164(p.id),
  lid: p.lid ?? (isLidUser(p.id) ? p.id : null),
  role: p.admin === 'superadmin' || p.admin === 'admin' ? p.admin : 'member',
});

export const summaryOf = (g: GroupMetadata): GroupSummary => ({
  id: g.id,
  subject: g.subject ?? '',
  description: g.desc ?? null,
  owner: g.owner ?? null,
  owner_phone_number: e164(g.ownerPn) ?? e164(g.owner),
  created_at: iso(g.creation),
  subject_changed_at: iso(g.subjectTime),
  announce: !!g.announce,
  locked: !!g.restrict,
  size: g.size ?? g.participants.length,
});

export const groupOf = (g: GroupMetadata): Group => ({ ...summaryOf(g), participants: g.participants.map(participantOf) });

/**
 * WhatsApp's refusal as a command error: 404 (no such group) and 403 (not in it) are `group_not_found`,
 * 401 (not-authorized: only admins may) `group_not_admin`, any other code `group_refused`. Anything else
 * (a timeout, a closed socket) is left as it is.
 */
export function groupError(err: unknown, group?: string): unknown {
  const boom = err as { data?: unknown; output?: { statusCode?: number }; message?: string };
  const code = typeof boom.data === 'number' ? boom.data : undefined;
  const where = group ? `group ${group}` : 'the group';
  if (code === 404) return new CommandError('group_not_found', `${where} does not exist`);
  if (code === 403) return new CommandError('group_not_found', `this account is not a participant of ${where}`);
  if (code === 401) return new CommandError('group_not_admin', `only admins of ${where} may do that`);
  if (code !== undefined) return new CommandError('group_refused', `WhatsApp refused it (${code} ${boom.message ?? ''})`.trim());
  return err;
}

export async function runGroupAction(ctx: GroupContext, action: GroupAction): Promise<GroupAnswer> {
  const { sock } = ctx;
  const group = 'group' in action ? action.group : undefined;
  try {
    switch (action.op) {
      case 'create': {
        const created = await sock.groupCreate(action.subject, action.participants);
        // WhatsApp's answer also lists who could not be added (with their status), and Baileys keeps them among
        // the participants: what the group holds is its own metadata.
        const meta = await sock.groupMetadata(created.id).catch(() => created);
        ctx.rememberSubject(meta.id, meta.subject);
        const present = new Set(meta.participants.flatMap(p => [p.id, p.phoneNumber, p.lid]).filter((j): j is string => !!j).map(j => jidNormalizedUser(j)));
        return { group: groupOf(meta), not_added: action.participants.filter(j => !present.has(jidNormalizedUser(j))) };
      }
      case 'list': {
        const all = Object.values(await sock.groupFetchAllParticipating());
        for (const g of all) ctx.rememberSubject(g.id, g.subject);
        return { groups: all.map(summaryOf) };
      }
      case 'metadata': {
        const meta = await sock.groupMetadata(action.group);
        ctx.rememberSubject(meta.id, meta.subject);
        return { group: groupOf(meta) };
      }
      case 'participants': {
        const answered = await sock.groupParticipantsUpdate(action.group, action.participants, action.action);
        ctx.forget(action.group);
        const results: ParticipantResult[] = answered.map(r => {
          const status = Number(r.status) || 0;
          return { participant: r.jid ?? '', ok: status === 200, code: participantResultCode(status), status };
        });
        return { results };
      }
      case 'update':
        return { group: groupOf(await update(ctx, action)) };
      case 'invite-code':
        return { invite_code: inviteCode(await sock.groupInviteCode(action.group)) };
      case 'revoke-invite':
        return { invite_code: inviteCode(await sock.groupRevokeInvite(action.group)) };
      case 'leave':
        await sock.groupLeave(action.group);
        ctx.forget(action.group);
        return {};
    }
  } catch (err) {
    throw groupError(err, group);
  }
}

const inviteCode = (code: string | undefined) => {
  if (!code) throw new CommandError('group_refused', 'WhatsApp answered no invite code');
  return code;
};

/** Subject, description, announce, locked, in that order; the metadata after. A refusal says what was already changed. */
async function update(ctx: GroupContext, action: Extract<GroupAction, { op: 'update' }>): Promise<GroupMetadata> {
  const { sock } = ctx;
  const jid = action.group;
  const done: string[] = [];
  const step = async (name: string, run: () => Promise<unknown>) => {
    try {
      await run();
      done.push(name);
    } catch (err) {
      const mapped = groupError(err, jid);
      if (done.length && mapped instanceof CommandError) {
        throw new CommandError(mapped.code, `${mapped.message} (${name}; already changed: ${done.join(', ')})`);
      }
      throw mapped;
    } finally {
      ctx.forget(jid);
    }
  };
  if (action.subject !== undefined) {
    await step('subject', () => sock.groupUpdateSubject(jid, action.subject!));
    ctx.rememberSubject(jid, action.subject);
  }
  if (action.description !== undefined) await step('description', () => sock.groupUpdateDescription(jid, action.description || undefined));
  if (action.announce !== undefined) await step('announce', () => sock.groupSettingUpdate(jid, action.announce ? 'announcement' : 'not_announcement'));
  if (action.locked !== undefined) await step('locked', () => sock.groupSettingUpdate(jid, action.locked ? 'locked' : 'unlocked'));
  const meta = await sock.groupMetadata(jid);
  ctx.rememberSubject(jid, meta.subject);
  return meta;
}
