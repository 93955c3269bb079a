// The people a connection knows (names from its address book and their own push names, with both their
// phone-number and LID forms), and their profile pictures.
import { createRoute, z } from '@hono/zod-openapi';
import { ConnectionId } from '../../protocol/connections';
import { Contact } from '../../protocol/contacts';
import { Cursor, limitParam } from '../../protocol/pagination';
import { recipientJid } from '../../protocol/recipient';
import { getConnection } from '../data/connections';
import { listContacts, toContact } from '../data/contacts';
import { decodeCursor, pageHeaders } from '../data/pagination';
import { ApiError } from '../http/errors';
import { runnerFailure } from '../http/runner-failure';
import { errorContent, errorResponses, jsonContent, newRouter } from '../http/router';
import { runCommand } from '../scheduler/client';

const tags = ['Contacts'];
const PICTURE_TIMEOUT_MS = 15_000;

const ProfilePicture = z
  .object({
    jid: z.string().meta({ example: '923001234567@s.whatsapp.net' }),
    url: z.string().nullable().meta({
      description: "Where WhatsApp's CDN serves the picture: a link that expires within hours (ask again then). Null: none set, or hidden from this account.",
      example: 'https://pps.whatsapp.net/v/t61.24694-24/…',
    }),
  })
  .meta({ id: 'ProfilePicture' });

export const contactRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/contacts/{connection_id}',
      tags,
      summary: 'List contacts',
      description:
        'The people this connection knows: names from the account\'s address book (history and app-state sync), the names people set ' +
        'themselves (with their messages), and each person\'s phone-number and LID forms. Most recently updated first; `q` filters by name or number.',
      request: {
        params: z.object({ connection_id: ConnectionId }),
        query: z.object({
          limit: limitParam(100, 500),
          before: Cursor.optional(),
          q: z.string().min(1).max(100).optional().meta({ description: 'Part of a name, a number or a JID (case-insensitive).', example: 'ali' }),
        }),
      },
      responses: { 200: jsonContent(z.array(Contact), 'Contacts.'), ...errorResponses(400, 401, 404) },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const { limit, before, q } = c.req.valid('query');
      const db = c.get('db');
      const connection = await getConnection(db, c.get('principal').tenantId, connection_id);
      const rows = await listContacts(db, connection.id, limit, decodeCursor(before, 'jid'), q);
      return c.json(rows.map(toContact), 200, pageHeaders(c.req.url, rows.map((r) => ({ at: r.updatedAt, id: r.jid })), limit));
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/contacts/{connection_id}/{jid}/picture',
      tags,
      summary: "A contact's profile picture",
      description: 'Asks WhatsApp, through the connection, where the profile picture of a person (or a group) is. `jid` is a JID or a phone number.',
      request: {
        params: z.object({ connection_id: ConnectionId, jid: z.string().min(1).max(128).meta({ example: '923001234567@s.whatsapp.net' }) }),
      },
      responses: {
        200: jsonContent(ProfilePicture, 'The picture, or null.'),
        ...errorResponses(400, 401, 404, 502, 504),
        409: errorContent('`connection_not_connected`: link the connection first.'),
        503: errorContent('`runner_unavailable` (retry), or `runner_outdated` (its runner predates contacts).'),
      },
    }),
    async (c) => {
      const { connection_id, jid: given } = c.req.valid('param');
      const jid = recipientJid(given);
      if (!jid) throw new ApiError(400, 'validation_failed', '`jid` must be a WhatsApp JID or a phone number with country code.');
      const connection = await getConnection(c.get('db'), c.get('principal').tenantId, connection_id);
      if (connection.status !== 'connected') {
        throw new ApiError(409, 'connection_not_connected', `Connection "${connection_id}" is ${connection.status}; link it first.`, { status: connection.status });
      }
      const outcome = await runCommand(c.env, connection.id, { name: 'profile-picture', jid }, PICTURE_TIMEOUT_MS);
      if (outcome.ok) return c.json({ jid, url: outcome.result.picture?.url ?? null }, 200);
      throw runnerFailure(outcome.error, connection_id, { refused: 'whatsapp_refused', timeout: 'WhatsApp did not answer in time; retry.' });
    },
  );
