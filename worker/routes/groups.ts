// Group management: create groups, list them, read one, change its participants, subject, description
// and settings, hand out and revoke its invite link, leave it. Each request goes to the runner holding
// the connection as one `group` command (protocol/groups.ts) and answers what WhatsApp answered;
// nothing is stored here. `:group_id` is the group's JID (…@g.us) or its user part.
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ConnectionId } from '../../protocol/connections';
import {
  CreateGroupBody,
  CreatedGroup,
  Group,
  GroupId,
  GroupSummary,
  INVITE_LINK_BASE,
  InviteLink,
  LeftGroup,
  ParticipantsAnswer,
  UpdateGroupBody,
  UpdateParticipantsBody,
  groupJidOf,
  participantJidOf,
  type GroupAction,
  type GroupAnswer,
} from '../../protocol/groups';
import { getConnection } from '../data/connections';
import type { AppEnv } from '../http/context';
import { ApiError } from '../http/errors';
import { runnerFailure } from '../http/runner-failure';
import { errorContent, errorResponses, jsonBody, jsonContent, newRouter } from '../http/router';
import { runCommand } from '../scheduler/client';

const tags = ['Groups'];
/** WhatsApp answers group queries within seconds; a create or a large participant change may take longer. */
const GROUP_COMMAND_TIMEOUT_MS = 20_000;

const ConnectionParams = z.object({ connection_id: ConnectionId });
const GroupParams = z.object({ connection_id: ConnectionId, group_id: GroupId });

/** The errors every group route may answer, for the document. */
const groupErrors = {
  ...errorResponses(400, 401, 502, 504),
  404: errorContent('`connection_not_found`, or `group_not_found`: WhatsApp has no such group, or this account is not in it.'),
  409: errorContent('`connection_not_connected`: link the connection first.'),
  503: errorContent('`runner_unavailable` (no runner holds the connection right now: retry), or `runner_outdated` (its runner predates group management).'),
};
/** …and the ones that change a group. */
const changeErrors = {
  ...groupErrors,
  403: errorContent('`not_group_admin`: only the group\'s admins may do that (or, in a locked group, change its subject or description).'),
  422: errorContent('`whatsapp_refused`: WhatsApp refused the change for another reason (its code and text in the message).'),
};

const jidsOf = (refs: string[]) => [...new Set(refs.map((r) => participantJidOf(r)!))];
const groupJid = (id: string) => groupJidOf(id)!;
const inviteLink = (group: string, code: string) => ({ group_id: group, code, link: `${INVITE_LINK_BASE}${code}` });

/** Sends one group action to the connection's runner and answers what it got, or the error it maps to. */
async function groupCommand(c: Context<AppEnv>, connectionId: string, action: GroupAction): Promise<GroupAnswer> {
  // Another tenant's connection is not found, exactly like one that does not exist.
  const connection = await getConnection(c.get('db'), c.get('principal').tenantId, connectionId);
  if (connection.status !== 'connected') {
    throw new ApiError(409, 'connection_not_connected', `Connection "${connectionId}" is ${connection.status}; link it (GET /api/get-qr/${connectionId}) first.`, {
      status: connection.status,
    });
  }
  const outcome = await runCommand(c.env, connection.id, { name: 'group', action }, GROUP_COMMAND_TIMEOUT_MS);
  if (outcome.ok) return outcome.result.group ?? {};
  throw runnerFailure(outcome.error, connectionId, {
    refused: 'whatsapp_refused',
    timeout: 'The runner did not answer in time; the change may or may not have been made: read the group to see.',
    specific: (code, message) => {
      if (code === 'group_not_found') return new ApiError(404, 'group_not_found', `No such group for this account: ${message}.`);
      if (code === 'group_not_admin') return new ApiError(403, 'not_group_admin', `Not allowed: ${message}.`);
      if (code === 'group_refused') return new ApiError(422, 'whatsapp_refused', message);
      return undefined;
    },
  });
}

/** The answer's part a route expects; a runner that answered without it is a broken runner. */
function part<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new ApiError(502, 'whatsapp_refused', `The runner answered without ${what}.`);
  return value;
}

export const groupRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/groups/{connection_id}',
      tags,
      summary: 'Create a group',
      description:
        'Creates a WhatsApp group with this account as its creator (superadmin) and the given participants. Someone WhatsApp ' +
        'does not let this account add (no WhatsApp, or privacy settings that allow only invites) is left out and named in ' +
        '`not_added`: send them the invite link.',
      request: { params: ConnectionParams, ...jsonBody(CreateGroupBody) },
      responses: { 201: jsonContent(CreatedGroup, 'The new group.'), ...changeErrors },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const body = c.req.valid('json');
      const answer = await groupCommand(c, connection_id, { op: 'create', subject: body.subject, participants: jidsOf(body.participants) });
      return c.json({ ...part(answer.group, 'the group'), not_added: answer.not_added ?? [] }, 201);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/groups/{connection_id}',
      tags,
      summary: 'List the groups the account is in',
      description: 'As WhatsApp has them now. Without participants (`size` counts them): read a group for those.',
      request: { params: ConnectionParams },
      responses: { 200: jsonContent(z.array(GroupSummary), 'The groups.'), ...groupErrors },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const answer = await groupCommand(c, connection_id, { op: 'list' });
      return c.json(part(answer.groups, 'the groups'), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/groups/{connection_id}/{group_id}',
      tags,
      summary: "A group's metadata",
      description: 'Subject, description, creator, creation time, settings, and the participants with their roles.',
      request: { params: GroupParams },
      responses: { 200: jsonContent(Group, 'The group.'), ...groupErrors },
    }),
    async (c) => {
      const { connection_id, group_id } = c.req.valid('param');
      const answer = await groupCommand(c, connection_id, { op: 'metadata', group: groupJid(group_id) });
      return c.json(part(answer.group, 'the group'), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/groups/{connection_id}/{group_id}/participants',
      tags,
      summary: 'Add, remove, promote or demote participants',
      description:
        'Admins only. WhatsApp answers for each participant: `results` has one entry each, `ok` or a `code` saying why not ' +
        '(`not_allowed`: privacy settings allow only invites; `not_found`: not in the group, or no WhatsApp; `recently_left`; ' +
        '`already_participant`; `blocked`; `not_acceptable`, e.g. the creator; `failed`), with WhatsApp\'s own `status`. ' +
        'The answer is 200 whatever each participant\'s outcome.',
      request: { params: GroupParams, ...jsonBody(UpdateParticipantsBody) },
      responses: { 200: jsonContent(ParticipantsAnswer, 'What WhatsApp answered for each participant.'), ...changeErrors },
    }),
    async (c) => {
      const { connection_id, group_id } = c.req.valid('param');
      const { action, participants } = c.req.valid('json');
      const group = groupJid(group_id);
      const answer = await groupCommand(c, connection_id, { op: 'participants', group, action, participants: jidsOf(participants) });
      return c.json({ group_id: group, action, results: part(answer.results, 'the results') }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/groups/{connection_id}/{group_id}',
      tags,
      summary: "Change a group's subject, description or settings",
      description:
        'At least one of `subject`, `description` (empty or null removes it), `announce` (only admins send), `locked` (only ' +
        'admins change the group\'s info). Applied in that order; if WhatsApp refuses one, those before it stay changed (the ' +
        'error message names them). Settings need an admin; subject and description too in a locked group. Answers the group after.',
      request: { params: GroupParams, ...jsonBody(UpdateGroupBody) },
      responses: { 200: jsonContent(Group, 'The group, changed.'), ...changeErrors },
    }),
    async (c) => {
      const { connection_id, group_id } = c.req.valid('param');
      const body = c.req.valid('json');
      const answer = await groupCommand(c, connection_id, { op: 'update', group: groupJid(group_id), ...body });
      return c.json(part(answer.group, 'the group'), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/groups/{connection_id}/{group_id}/invite-link',
      tags,
      summary: "The group's invite link",
      description: 'Admins only. Whoever has the link can join the group, so reading it needs the `manage` scope.',
      request: { params: GroupParams },
      responses: { 200: jsonContent(InviteLink, 'The link.'), ...changeErrors },
    }),
    async (c) => {
      const { connection_id, group_id } = c.req.valid('param');
      const group = groupJid(group_id);
      const answer = await groupCommand(c, connection_id, { op: 'invite-code', group });
      return c.json(inviteLink(group, part(answer.invite_code, 'an invite code')), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/groups/{connection_id}/{group_id}/invite-link/revoke',
      tags,
      summary: 'Revoke the invite link',
      description: 'Admins only. The old link stops working; answers the new one.',
      request: { params: GroupParams },
      responses: { 200: jsonContent(InviteLink, 'The new link.'), ...changeErrors },
    }),
    async (c) => {
      const { connection_id, group_id } = c.req.valid('param');
      const group = groupJid(group_id);
      const answer = await groupCommand(c, connection_id, { op: 'revoke-invite', group });
      return c.json(inviteLink(group, part(answer.invite_code, 'an invite code')), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/groups/{connection_id}/{group_id}/leave',
      tags,
      summary: 'Leave the group',
      description: 'This account leaves the group; its chat and messages stay in history.',
      request: { params: GroupParams },
      responses: { 200: jsonContent(LeftGroup, 'Left.'), ...changeErrors },
    }),
    async (c) => {
      const { connection_id, group_id } = c.req.valid('param');
      const group = groupJid(group_id);
      await groupCommand(c, connection_id, { op: 'leave', group });
      return c.json({ group_id: group, left: true as const }, 200);
    },
  );
