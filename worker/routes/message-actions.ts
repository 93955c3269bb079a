// Actions on a message already sent: edit our own text (PATCH), revoke it for everyone or delete it for
// this account only (DELETE). `:message_id` is the provider_message_id. Edits and revokes go through the
// runner holding the connection (commands `edit` and `revoke`, feature 'message-actions'); the stored
// message changes once, whether this route or the runner's echo of its own protocol message stores it first.
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ConnectionId } from '../../protocol/connections';
import { EDIT_WINDOW_MS, EditMessageBody, Message } from '../../protocol/messages';
import { recipientJid } from '../../protocol/recipient';
import type { Command, MessageChange } from '../../protocol/runner';
import { getConnection } from '../data/connections';
import { eventsStore } from '../data/db';
import { publicEventsOf } from '../data/events/public';
import { applyOwnChange, deleteForMe, findMessage } from '../data/message-actions';
import { toMessage, type MessageRow } from '../data/messages';
import { publishRealtime } from '../hub/client';
import type { AppEnv } from '../http/context';
import { ApiError } from '../http/errors';
import { runnerFailure } from '../http/runner-failure';
import { errorContent, errorResponses, jsonBody, jsonContent, newRouter } from '../http/router';
import { runCommand } from '../scheduler/client';
import { enqueueCommitted } from '../webhooks/enqueue';

/** How long an edit or a revoke waits for the runner (WhatsApp's ack included). */
const ACTION_TIMEOUT_MS = 20_000;

const params = z.object({
  connection_id: ConnectionId,
  chat_id: z.string().min(1).max(128).meta({ example: '923001234567@s.whatsapp.net' }),
  message_id: z.string().min(1).max(128).meta({ description: 'The `provider_message_id` of the message.', example: '3EB0C431C26A1916E1B5' }),
});

type ActionContext = Context<AppEnv>;

/** The message named by the path, in a connection of the caller's (another tenant's is 404 like an unknown one). */
async function target(c: ActionContext, p: z.infer<typeof params>) {
  const jid = recipientJid(p.chat_id);
  if (!jid) throw new ApiError(400, 'validation_failed', '`chat_id` must be a WhatsApp JID or a phone number with country code.');
  const db = c.get('db');
  const connection = await getConnection(db, c.get('principal').tenantId, p.connection_id);
  const row = await findMessage(db, connection.id, jid, p.message_id);
  if (!row) throw new ApiError(404, 'not_found', `No message ${p.message_id} in chat ${jid} of connection "${p.connection_id}".`);
  return { db, connection, row };
}

/** Asks the runner, then stores the change as its echo would (exactly once), tells it, and answers the message. */
async function act(c: ActionContext, connectionId: string, connection: { id: string; tenantId: string }, row: MessageRow, command: Command, change: MessageChange) {
  const outcome = await runCommand(c.env, connection.id, command, ACTION_TIMEOUT_MS);
  if (!outcome.ok) {
    throw runnerFailure(outcome.error, connectionId, {
      refused: 'send_failed',
      timeout: 'The runner did not confirm in time; the change may still have gone out.',
      specific: (code, message) =>
        code === 'not_group_admin' ? new ApiError(403, 'not_group_admin', `Only a group admin may delete someone else's message: ${message}`) : undefined,
    });
  }
  const made = { id: outcome.result.provider_message_id ?? `${command.name}-${row.providerMessageId}`, timestamp: outcome.result.timestamp ?? new Date().toISOString() };
  const store = eventsStore(c.env, (closing) => c.executionCtx.waitUntil(closing));
  const stored = await applyOwnChange(store, { connectionPk: connection.id, tenantId: connection.tenantId, chatId: row.chatId, providerMessageId: row.providerMessageId! }, change, made);
  await enqueueCommitted(c.env, stored.deliveries);
  await publishRealtime(c.env, await publicEventsOf(stored));
  const now = (await findMessage(c.get('db'), connection.id, row.chatId, row.providerMessageId!)) ?? row;
  return c.json(toMessage(now, connectionId), 200);
}

export const messageActionRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'patch',
      path: '/messages/{connection_id}/{chat_id}/{message_id}',
      tags: ['Messages'],
      summary: 'Edit a text message you sent',
      description:
        'Sends WhatsApp an edit of one of this connection\'s own text messages, within 15 minutes of sending it (WhatsApp\'s window; ' +
        'later: 409 `edit_window_closed`). The stored message gets the new text, `edited_at`, and its earlier text in `edits`; ' +
        '`message.updated` is told (webhook and realtime `message-updated`). A received message is 409 `not_own_message`, ' +
        'another kind than a text 409 `message_not_editable`, a deleted one 409 `message_deleted`; through a runner too old for this, 503 `runner_outdated`.',
      request: { params, ...jsonBody(EditMessageBody) },
      responses: {
        200: jsonContent(Message, 'Edited: the message as stored now.'),
        ...errorResponses(400, 401, 404, 413, 502, 503, 504),
        409: errorContent('`edit_window_closed`, `not_own_message`, `message_not_editable`, `message_deleted` or `connection_not_connected`.'),
      },
    }),
    async (c) => {
      const p = c.req.valid('param');
      const { message: text } = c.req.valid('json');
      const { connection, row } = await target(c, p);
      if (row.direction !== 'outbound') throw new ApiError(409, 'not_own_message', 'Only your own messages can be edited; this one was received.');
      if (row.type !== 'text') throw new ApiError(409, 'message_not_editable', `Only texts can be edited; this message is a ${row.type}.`);
      if (row.deletedAt) throw new ApiError(409, 'message_deleted', 'This message was deleted.');
      if (!row.providerMessageId || row.status === 'pending' || row.status === 'failed') {
        throw new ApiError(409, 'message_not_editable', `This message was not sent (status ${row.status}).`);
      }
      if (Date.now() - row.sentAt.getTime() > EDIT_WINDOW_MS) {
        throw new ApiError(409, 'edit_window_closed', `WhatsApp takes edits for 15 minutes after sending; this message was sent at ${row.sentAt.toISOString()}.`);
      }
      const key = { id: row.providerMessageId, remote_jid: row.chatId, from_me: true };
      return act(c, p.connection_id, connection, row, { name: 'edit', key, text }, { kind: 'edit', text });
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/messages/{connection_id}/{chat_id}/{message_id}',
      tags: ['Messages'],
      summary: 'Delete a message, for everyone or for you',
      description:
        'Without `for` (or `for=everyone`): revokes the message in WhatsApp for everyone. Your own messages; in a group also others\' ' +
        'when this account is a group admin (else 403 `not_group_admin`); a received 1:1 message is 409 `not_own_message`. ' +
        'With `for=me`: marks it deleted for this account only; nothing goes to WhatsApp. Either way the stored message keeps its text ' +
        'and gets `deleted_at`, and `message.deleted` is told (webhook and realtime `message-deleted`, with `scope`). Deleting a deleted message answers it unchanged.',
      request: {
        params,
        query: z.object({ for: z.enum(['everyone', 'me']).default('everyone').meta({ description: '`everyone` (default): revoke in WhatsApp; `me`: only here.' }) }),
      },
      responses: {
        200: jsonContent(Message, 'Deleted: the message as stored now.'),
        ...errorResponses(400, 401, 403, 404, 502, 503, 504),
        409: errorContent('`not_own_message` or `connection_not_connected`.'),
      },
    }),
    async (c) => {
      const p = c.req.valid('param');
      const scope = c.req.valid('query').for;
      const { db, connection, row } = await target(c, p);
      if (row.deletedAt) return c.json(toMessage(row, p.connection_id), 200);
      if (scope === 'me') {
        const done = await deleteForMe(db, row.id);
        await enqueueCommitted(c.env, done.deliveries);
        if (done.row && done.tenantId) {
          const message = toMessage(done.row, p.connection_id);
          await publishRealtime(c.env, [
            { tenantId: done.tenantId, events: [{ type: 'message.deleted', connectionId: p.connection_id, scope: 'me', by: null, message, at: message.deleted_at! }] },
          ]);
        }
        return c.json(toMessage(done.row ?? (await findMessage(db, connection.id, row.chatId, row.providerMessageId!)) ?? row, p.connection_id), 200);
      }
      const group = row.chatId.endsWith('@g.us');
      if (row.direction !== 'outbound' && !group) throw new ApiError(409, 'not_own_message', 'Only your own messages can be deleted for everyone in a 1:1 chat; use ?for=me.');
      if (!row.providerMessageId) throw new ApiError(409, 'message_not_editable', 'This message was never sent.');
      const key = {
        id: row.providerMessageId,
        remote_jid: row.chatId,
        from_me: row.direction === 'outbound',
        ...(row.direction === 'inbound' && row.fromJid ? { participant: row.fromJid } : {}),
      };
      return act(c, p.connection_id, connection, row, { name: 'revoke', key }, { kind: 'revoke' });
    },
  );
