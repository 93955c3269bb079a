// Group management, on both wires: the REST bodies and answers of /api/groups/… and the `group` runner
// command that carries each of them to the Baileys socket (runner/group-actions.ts), with its answer.
// A group's metadata has one shape everywhere: the runner builds it from Baileys' GroupMetadata in one
// place, the control plane hands it on (adding only what it derives, the invite link).
import { z } from 'zod';
import { recipientJid } from './recipient';

/** WhatsApp's own limits on what a group carries. */
export const MAX_GROUP_SUBJECT_CHARS = 100;
export const MAX_GROUP_DESCRIPTION_CHARS = 2048;
/** Participants one request may name (WhatsApp's groups hold at most 1024 members). */
export const MAX_PARTICIPANTS_PER_REQUEST = 256;

/** The API's error codes of group routes (protocol/errors.ts lists them with the others). */
export const groupErrorCodes = ['group_not_found', 'not_group_admin', 'whatsapp_refused'] as const;

/** The runner's refusals of a `group` command (protocol/runner.ts commandErrorCodes lists them with the others). */
export const groupCommandErrorCodes = [
  /** WhatsApp has no such group, or this account is not (or no longer) in it (WhatsApp's 404 and 403). */
  'group_not_found',
  /** Only the group's admins may do that (WhatsApp's 401 not-authorized). */
  'group_not_admin',
  /** Any other refusal WhatsApp answered (its code and text in the message). */
  'group_refused',
] as const;

/** `:group_id` in a path: the group's JID (`120363…@g.us`) or just its user part (`120363…`). */
export const GroupId = z
  .string()
  .min(1)
  .max(64)
  .refine((v) => groupJidOf(v) !== null, 'a group JID (…@g.us) or its user part (digits, optionally "-" and digits)')
  .meta({ description: 'The group: its JID, or the JID without `@g.us`.', example: '120363041234567890@g.us' });

/** The group JID a `:group_id` names, or null. */
export function groupJidOf(id: string): string | null {
  const jid = recipientJid(id.includes('@') ? id : `${id.trim()}@g.us`);
  return jid?.endsWith('@g.us') ? jid : null;
}

/** A participant as a caller names one: a phone number with country code, or a user JID (…@s.whatsapp.net, …@lid). */
export const ParticipantRef = z
  .string()
  .min(1)
  .max(128)
  .refine((v) => participantJidOf(v) !== null, 'a phone number with country code, or a user JID (…@s.whatsapp.net or …@lid)')
  .meta({ example: '923001234567' });

export function participantJidOf(ref: string): string | null {
  const jid = recipientJid(ref);
  return jid && !jid.endsWith('@g.us') ? jid : null;
}

const Participants = z.array(ParticipantRef).max(MAX_PARTICIPANTS_PER_REQUEST);
const Subject = z.string().trim().min(1).max(MAX_GROUP_SUBJECT_CHARS);
const Description = z.string().max(MAX_GROUP_DESCRIPTION_CHARS);

// ---------------------------------------------------------------------------------------------------
// What a group looks like (REST answers, and the runner's answer)

export const groupRoles = ['superadmin', 'admin', 'member'] as const;

export const GroupParticipant = z
  .object({
    jid: z.string().meta({ description: 'How the group names the participant: a LID (…@lid) in LID-addressed groups, else a phone JID.' }),
    phone_number: z.string().nullable().meta({ description: 'E.164 with +, when WhatsApp tells it.', example: '+923001234567' }),
    lid: z.string().nullable().meta({ description: 'The participant\'s LID (…@lid), when WhatsApp tells it.' }),
    role: z.enum(groupRoles).meta({ description: '`superadmin`: the creator; `admin`; `member`.' }),
  })
  .meta({ id: 'GroupParticipant' });
export type GroupParticipant = z.infer<typeof GroupParticipant>;

const groupFields = {
  id: z.string().meta({ description: 'The group JID.', example: '120363041234567890@g.us' }),
  subject: z.string(),
  description: z.string().nullable(),
  owner: z.string().nullable().meta({ description: 'Who created the group (its JID as the group names it), when known.' }),
  owner_phone_number: z.string().nullable().meta({ description: 'The creator\'s number, E.164 with +, when WhatsApp tells it.' }),
  created_at: z.string().nullable().meta({ description: 'When the group was created (ISO 8601).' }),
  subject_changed_at: z.string().nullable(),
  announce: z.boolean().meta({ description: 'Only admins may send messages.' }),
  locked: z.boolean().meta({ description: 'Only admins may change the subject, description and settings.' }),
  size: z.number().int().nonnegative(),
};

/** A group in a list: everything but the participants (`size` counts them; GET the group for them). */
export const GroupSummary = z.object(groupFields).meta({ id: 'GroupSummary' });
export type GroupSummary = z.infer<typeof GroupSummary>;

export const Group = z
  .object({ ...groupFields, participants: z.array(GroupParticipant) })
  .meta({ id: 'Group' });
export type Group = z.infer<typeof Group>;

/** A new group, and whom WhatsApp did not let this account add. */
export const CreatedGroup = Group.extend({
  not_added: z
    .array(z.string())
    .meta({ description: 'Participants asked for who are not in the group (no WhatsApp, or privacy settings that allow only invites: send them the invite link), as JIDs.' }),
}).meta({ id: 'CreatedGroup' });

/** What WhatsApp answered for one participant of an add, remove, promote or demote. */
export const participantResultCodes = [
  'ok',
  /** 403: WhatsApp does not allow it (add: the person's privacy settings allow only invites; else not permitted). */
  'not_allowed',
  /** 404: not a participant (remove, promote, demote), or no WhatsApp account (add). */
  'not_found',
  /** 408: the person left the group recently and cannot be added back yet. */
  'recently_left',
  /** 409: already a participant (add). */
  'already_participant',
  /** 401: the person blocked this account. */
  'blocked',
  /** 406: not acceptable (e.g. removing or demoting the group's creator). */
  'not_acceptable',
  /** Any other status. */
  'failed',
] as const;
export type ParticipantResultCode = (typeof participantResultCodes)[number];

export const participantResultCode = (status: number): ParticipantResultCode => {
  switch (status) {
    case 200:
      return 'ok';
    case 401:
      return 'blocked';
    case 403:
      return 'not_allowed';
    case 404:
      return 'not_found';
    case 406:
      return 'not_acceptable';
    case 408:
      return 'recently_left';
    case 409:
      return 'already_participant';
    default:
      return 'failed';
  }
};

export const ParticipantResult = z
  .object({
    participant: z.string().meta({ description: 'The participant, as a JID.' }),
    ok: z.boolean(),
    code: z.enum(participantResultCodes),
    status: z.number().int().meta({ description: "WhatsApp's own status for this participant (200 when it went through)." }),
  })
  .meta({ id: 'GroupParticipantResult' });
export type ParticipantResult = z.infer<typeof ParticipantResult>;

// ---------------------------------------------------------------------------------------------------
// REST bodies and answers

export const CreateGroupBody = z
  .object({
    subject: Subject.meta({ example: 'Order 1234' }),
    participants: Participants.meta({ description: 'Phone numbers with country code, or user JIDs. This account is added as the creator.' }),
  })
  .strict()
  .meta({ id: 'CreateGroupBody' });
export type CreateGroupBody = z.infer<typeof CreateGroupBody>;

export const participantActions = ['add', 'remove', 'promote', 'demote'] as const;

export const UpdateParticipantsBody = z
  .object({
    action: z.enum(participantActions),
    participants: Participants.min(1),
  })
  .strict()
  .meta({ id: 'UpdateGroupParticipantsBody' });
export type UpdateParticipantsBody = z.infer<typeof UpdateParticipantsBody>;

export const ParticipantsAnswer = z
  .object({
    group_id: z.string(),
    action: z.enum(participantActions),
    results: z.array(ParticipantResult),
  })
  .meta({ id: 'GroupParticipantsResult' });

export const UpdateGroupBody = z
  .object({
    subject: Subject.optional(),
    description: Description.nullable().optional().meta({ description: 'An empty string or null removes it.' }),
    announce: z.boolean().optional().meta({ description: 'Only admins may send messages.' }),
    locked: z.boolean().optional().meta({ description: 'Only admins may change the subject, description and settings.' }),
  })
  .strict()
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'give at least one of subject, description, announce, locked')
  .meta({ id: 'UpdateGroupBody' });
export type UpdateGroupBody = z.infer<typeof UpdateGroupBody>;

export const INVITE_LINK_BASE = 'https://chat.whatsapp.com/';

export const InviteLink = z
  .object({
    group_id: z.string(),
    code: z.string(),
    link: z.string().meta({ example: 'https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrStUv' }),
  })
  .meta({ id: 'GroupInviteLink' });

export const LeftGroup = z.object({ group_id: z.string(), left: z.literal(true) }).meta({ id: 'GroupLeft' });

// ---------------------------------------------------------------------------------------------------
// The runner command (protocol/runner.ts: `{ name: 'group', action }`) and its answer (CommandResult.group)

const GroupJid = z.string().regex(/^\d{5,20}(-\d{5,20})?@g\.us$/);
const UserJid = z.string().min(1).max(128);

export const GroupAction = z.discriminatedUnion('op', [
  z.object({ op: z.literal('create'), subject: Subject, participants: z.array(UserJid).max(MAX_PARTICIPANTS_PER_REQUEST) }),
  z.object({ op: z.literal('list') }),
  z.object({ op: z.literal('metadata'), group: GroupJid }),
  z.object({ op: z.literal('participants'), group: GroupJid, action: z.enum(participantActions), participants: z.array(UserJid).min(1).max(MAX_PARTICIPANTS_PER_REQUEST) }),
  /** Applied in this order: subject, description, announce, locked; the answer is the metadata after. */
  z.object({
    op: z.literal('update'),
    group: GroupJid,
    subject: Subject.optional(),
    /** null (or empty) removes it. */
    description: Description.nullable().optional(),
    announce: z.boolean().optional(),
    locked: z.boolean().optional(),
  }),
  z.object({ op: z.literal('invite-code'), group: GroupJid }),
  z.object({ op: z.literal('revoke-invite'), group: GroupJid }),
  z.object({ op: z.literal('leave'), group: GroupJid }),
]);
export type GroupAction = z.infer<typeof GroupAction>;

/** One object for every op: `group` (create, metadata, update), `not_added` (create), `groups` (list), `results` (participants), `invite_code`. */
export const GroupAnswer = z.object({
  group: Group.optional(),
  groups: z.array(GroupSummary).optional(),
  results: z.array(ParticipantResult).optional(),
  invite_code: z.string().max(128).optional(),
  /** create: the participants asked for who are not in the group. */
  not_added: z.array(z.string().max(128)).optional(),
});
export type GroupAnswer = z.infer<typeof GroupAnswer>;
