// Messaging endpoints of the seed: send a message, list chats, read a chat's history.
import { createRoute, z } from '@hono/zod-openapi';
import { ConnectionId } from '../../protocol/connections';
import { Chat, Message, SendMessageBody, SendMessageResponse } from '../../protocol/messages';
import { Cursor, limitParam } from '../../protocol/pagination';
import { getConnection } from '../data/connections';
import { listChats, listMessages, toChat, toMessage } from '../data/messages';
import { decodeCursor, pageHeaders } from '../data/pagination';
import { isResendable, markOutbound, openOutbound, providerIdFor } from '../data/outbound';
import { ApiError, connectionNotFound } from '../http/errors';
import { runCommand } from '../scheduler/client';
import { errorResponses, jsonBody, jsonContent, newRouter } from '../http/router';
import { chatIdOf, toJid } from '../lib/recipient';

/** How long a send waits for the runner's answer before answering 504 (the message is then 'unknown'). */
const DEFAULT_SEND_TIMEOUT_MS = 20_000;


export const messageRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/send-message',
      tags: ['Messages'],
      summary: 'Send a text message',
      description:
        'Sends through the runner that holds the connection and answers once WhatsApp acknowledged the message. ' +
        'Retrying with the same client_message_id never sends twice.',
      request: jsonBody(SendMessageBody),
      responses: {
        200: jsonContent(SendMessageResponse, 'Sent.'),
        ...errorResponses(400, 401, 404, 409, 413, 502, 503, 504),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const jid = toJid(body.to);
      if (!jid) {
        throw new ApiError(
          400,
          'invalid_recipient',
          '`to` must be a phone number with country code (digits, optional +) or a WhatsApp JID.',
        );
      }
      const db = c.get('db');
      const started = Date.now();
      const { tenantId } = c.get('principal');
      const opened = await openOutbound(db, {
        tenantId,
        connectionId: body.connection_id,
        chatId: chatIdOf(jid),
        toJid: jid,
        type: 'text',
        text: body.message,
        clientMessageId: body.client_message_id,
        providerMessageId: await providerIdFor(tenantId, body.connection_id, body.client_message_id),
      });
      if (!opened) throw connectionNotFound(body.connection_id);
      const { connection, message: row } = opened;
      const answer = (id: string) => ({ status: 'sent' as const, client_message_id: body.client_message_id ?? null, provider_message_id: id });
      // A retry of a request that already went out answers the first result and sends nothing.
      if (row && !isResendable(row.status)) return c.json(answer(row.providerMessageId), 200);
      if (connection.status !== 'connected') {
        throw new ApiError(
          409,
          'connection_not_connected',
          `Connection "${body.connection_id}" is ${connection.status}; link it (GET /api/get-qr/${body.connection_id}) before sending.`,
        );
      }
      if (!row) throw new Error('outbound row neither recorded nor found');
      const dispatched = Date.now();
      const outcome = await runCommand(
        c.env,
        connection.pk,
        { name: 'send', to: jid, text: body.message, message_id: row.providerMessageId },
        Number(c.env.SEND_TIMEOUT_MS) || DEFAULT_SEND_TIMEOUT_MS,
      );
      // Where the time went, for operators and benchmarks (Server-Timing shows in browser devtools too).
      c.header('Server-Timing', `db;dur=${dispatched - started}, runner;dur=${Date.now() - dispatched}`);
      if (outcome.ok) {
        const sentAt = outcome.result.timestamp ? new Date(outcome.result.timestamp) : undefined;
        // Off the response path: the server-ack event moves the row to 'sent' as well if this write is lost.
        c.get('afterResponse')(markOutbound(db, row.id, 'sent', { sentAt }));
        return c.json(answer(row.providerMessageId), 200);
      }
      const { code, message } = outcome.error;
      switch (code) {
        case 'not_connected':
          throw new ApiError(409, 'connection_not_connected', `Connection "${body.connection_id}" is not connected right now.`);
        case 'invalid_recipient':
          await markOutbound(db, row.id, 'failed', { error: message });
          throw new ApiError(400, 'invalid_recipient', message);
        case 'no_runner':
          throw new ApiError(503, 'runner_unavailable', 'No runner holds this connection right now; retry with the same client_message_id.');
        case 'timeout':
          await markOutbound(db, row.id, 'unknown', { error: message });
          throw new ApiError(504, 'runner_timeout', 'The runner did not confirm the send in time; retry with the same client_message_id.', {
            provider_message_id: row.providerMessageId,
          });
        default:
          await markOutbound(db, row.id, 'failed', { error: message });
          throw new ApiError(502, 'send_failed', `WhatsApp did not take the message: ${message}`);
      }
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/chats/{connection_id}',
      tags: ['Messages'],
      summary: 'List chats',
      description: 'Most recently active first, with the last message and unread count.',
      request: {
        params: z.object({ connection_id: ConnectionId }),
        query: z.object({ limit: limitParam(100, 500), before: Cursor.optional() }),
      },
      responses: { 200: jsonContent(z.array(Chat), 'Chats.'), ...errorResponses(400, 401, 404) },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const { limit, before } = c.req.valid('query');
      const db = c.get('db');
      const connection = await getConnection(db, c.get('principal').tenantId, connection_id);
      const rows = await listChats(db, connection.id, limit, decodeCursor(before));
      return c.json(rows.map(toChat), 200, pageHeaders(c.req.url, rows.map((r) => ({ at: r.lastMessageAt, id: r.id })), limit));
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/messages/{connection_id}/{chat_id}',
      tags: ['Messages'],
      summary: "List a chat's messages",
      description: 'Newest first. `chat_id` is a JID or a phone number with country code.',
      request: {
        params: z.object({
          connection_id: ConnectionId,
          chat_id: z.string().min(1).max(128).meta({ example: '923001234567@s.whatsapp.net' }),
        }),
        query: z.object({ limit: limitParam(50, 500), before: Cursor.optional() }),
      },
      responses: { 200: jsonContent(z.array(Message), 'Messages.'), ...errorResponses(400, 401, 404) },
    }),
    async (c) => {
      const { connection_id, chat_id } = c.req.valid('param');
      const { limit, before } = c.req.valid('query');
      const jid = toJid(chat_id);
      if (!jid) throw new ApiError(400, 'validation_failed', '`chat_id` must be a WhatsApp JID or a phone number with country code.');
      const db = c.get('db');
      const connection = await getConnection(db, c.get('principal').tenantId, connection_id);
      const rows = await listMessages(db, connection.id, chatIdOf(jid), limit, decodeCursor(before));
      return c.json(
        rows.map((r) => toMessage(r, connection_id)),
        200,
        pageHeaders(c.req.url, rows.map((r) => ({ at: r.sentAt, id: r.id })), limit),
      );
    },
  );
