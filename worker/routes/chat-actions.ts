// What a tenant does to a chat or as the account besides sending: mark a chat read (read receipts), show a chat
// state (typing, recording) or the account's presence, and ask which numbers are on WhatsApp. Each goes to the
// runner holding the connection as a `chat-actions` command (runner/chat-actions.ts).
import { createRoute, z } from '@hono/zod-openapi';
import { ConnectionId } from '../../protocol/connections';
import { PhoneNumber, phoneDigits } from '../../protocol/messages';
import { recipientJid } from '../../protocol/recipient';
import { MAX_CHECK_NUMBERS, MAX_READ_KEYS, chatStates, presenceStates, type Command, type CommandResult } from '../../protocol/runner';
import { unreadMessages, markChatRead } from '../data/chat-reads';
import { getConnection } from '../data/connections';
import { ApiError } from '../http/errors';
import { runnerFailure } from '../http/runner-failure';
import { errorContent, errorResponses, jsonBody, jsonContent, newRouter } from '../http/router';
import { limitsConfig } from '../limits/config';
import { limiterOf } from '../limits/limiter-of';
import { messageKeyOf } from '../lib/send-kinds';
import { runCommand } from '../scheduler/client';
import type { Env } from '../env';
import type { Context } from 'hono';
import type { AppEnv } from '../http/context';

/** How long a chat action waits for the runner. */
const ACTION_TIMEOUT_MS = 15_000;

const ChatParams = z.object({
  connection_id: ConnectionId,
  chat_id: z.string().min(1).max(128).meta({ description: 'A JID or a phone number with country code.', example: '923001234567@s.whatsapp.net' }),
});
const ConnectionParams = z.object({ connection_id: ConnectionId });

const ChatRead = z
  .object({
    connection_id: ConnectionId,
    chat_id: z.string(),
    read: z.number().int().meta({ description: `How many received messages got a read receipt (the newest unread, at most ${MAX_READ_KEYS}).`, example: 3 }),
  })
  .meta({ id: 'ChatRead' });

const ChatPresenceBody = z
  .object({ state: z.enum(chatStates).meta({ description: 'Typing (`composing`), recording a voice note (`recording`), or stopped (`paused`).', example: 'composing' }) })
  .strict()
  .meta({ id: 'ChatPresenceBody' });
const ChatPresence = z.object({ connection_id: ConnectionId, chat_id: z.string(), state: z.enum(chatStates) }).meta({ id: 'ChatPresence' });

const PresenceBody = z
  .object({ state: z.enum(presenceStates).meta({ description: 'Whether the account shows as online.', example: 'available' }) })
  .strict()
  .meta({ id: 'PresenceBody' });
const Presence = z.object({ connection_id: ConnectionId, state: z.enum(presenceStates) }).meta({ id: 'Presence' });

const CheckNumbersBody = z
  .object({
    numbers: z
      .array(PhoneNumber)
      .min(1)
      .max(MAX_CHECK_NUMBERS)
      .meta({ description: `1 to ${MAX_CHECK_NUMBERS} phone numbers with country code, as \`to\` takes them.`, example: ['923001234567', '+1 555 010 0001'] }),
  })
  .strict()
  .meta({ id: 'CheckNumbersBody' });
const CheckedNumbers = z
  .object({
    connection_id: ConnectionId,
    numbers: z.array(
      z.object({
        number: z.string().meta({ description: 'The number as given.', example: '923001234567' }),
        exists: z.boolean().meta({ description: 'Whether it has a WhatsApp account.' }),
        jid: z.string().nullable().meta({
          description: 'The JID WhatsApp has it under (not always the number as dialled: Brazil’s ninth digit), null without WhatsApp.',
          example: '923001234567@s.whatsapp.net',
        }),
      }),
    ),
  })
  .meta({ id: 'CheckedNumbers' });

/** 409 not connected, 502 WhatsApp refused, 503 no runner (or one too old: `runner_outdated`), 504 the runner did not answer. */
const RUNNER_ERRORS = errorResponses(400, 401, 404, 409, 502, 503, 504);

/** The runner's answer, or the API error it means. */
async function act(env: Env, connectionPk: string, connectionId: string, command: Command): Promise<CommandResult> {
  const outcome = await runCommand(env, connectionPk, command, ACTION_TIMEOUT_MS);
  if (outcome.ok) return outcome.result;
  throw runnerFailure(outcome.error, connectionId, { refused: 'chat_action_failed' });
}

/** A connected connection of the caller's (404 for anyone else's, 409 while not linked). */
async function connectedConnection(c: Pick<Context<AppEnv>, 'get'>, connectionId: string) {
  const connection = await getConnection(c.get('db'), c.get('principal').tenantId, connectionId);
  if (connection.status !== 'connected') {
    throw new ApiError(409, 'connection_not_connected', `Connection "${connectionId}" is ${connection.status}; link it before acting on its chats.`, {
      status: connection.status,
    });
  }
  return connection;
}

const chatJidOf = (chatId: string) => {
  const jid = recipientJid(chatId);
  if (!jid) throw new ApiError(400, 'validation_failed', '`chat_id` must be a WhatsApp JID or a phone number with country code.');
  return jid;
};

export const chatActionRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/chats/{connection_id}/{chat_id}/read',
      tags: ['Messages'],
      summary: 'Mark a chat read',
      description:
        `Sends read receipts (blue ticks, where the contact allows them) for the chat's received messages not yet read, the newest ${MAX_READ_KEYS} at most, ` +
        'marks them `read` in history and sets the chat\'s `unread_count` to 0. Nothing unread: nothing is sent, 200 with `read: 0`.',
      request: { params: ChatParams },
      responses: { 200: jsonContent(ChatRead, 'Read.'), ...RUNNER_ERRORS },
    }),
    async (c) => {
      const { connection_id, chat_id } = c.req.valid('param');
      const jid = chatJidOf(chat_id);
      const db = c.get('db');
      const connection = await connectedConnection(c, connection_id);
      const unread = (await unreadMessages(db, connection.id, jid, MAX_READ_KEYS)).filter((r) => r.providerMessageId);
      if (unread.length) {
        await act(c.env, connection.id, connection_id, { name: 'read', keys: unread.map((r) => messageKeyOf(r)) });
      }
      await markChatRead(db, connection.id, jid, unread.map((r) => r.id));
      return c.json({ connection_id, chat_id: jid, read: unread.length }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/chats/{connection_id}/{chat_id}/presence',
      tags: ['Messages'],
      summary: 'Show typing or recording in a chat',
      description: 'Sends a chat state to the chat: `composing` (typing…), `recording` (recording audio…) or `paused`. WhatsApp shows it for a few seconds; send it again to keep it.',
      request: { params: ChatParams, ...jsonBody(ChatPresenceBody) },
      responses: { 200: jsonContent(ChatPresence, 'Sent.'), ...RUNNER_ERRORS },
    }),
    async (c) => {
      const { connection_id, chat_id } = c.req.valid('param');
      const { state } = c.req.valid('json');
      const jid = chatJidOf(chat_id);
      const connection = await connectedConnection(c, connection_id);
      await act(c.env, connection.id, connection_id, { name: 'presence', state, chat_jid: jid });
      return c.json({ connection_id, chat_id: jid, state }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections/{connection_id}/presence',
      tags: ['Connections'],
      summary: "Set the account's presence (online or not)",
      description: '`available` shows the account online to its contacts, `unavailable` stops it (and lets the phone get notifications again).',
      request: { params: ConnectionParams, ...jsonBody(PresenceBody) },
      responses: { 200: jsonContent(Presence, 'Sent.'), ...RUNNER_ERRORS },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const { state } = c.req.valid('json');
      const connection = await connectedConnection(c, connection_id);
      await act(c.env, connection.id, connection_id, { name: 'presence', state });
      return c.json({ connection_id, state }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections/{connection_id}/check-numbers',
      tags: ['Connections'],
      summary: 'Check which numbers are on WhatsApp',
      description:
        `Asks WhatsApp, through this connection, which of 1 to ${MAX_CHECK_NUMBERS} numbers have an account and under which JID (one query). ` +
        'Probing many numbers gets a WhatsApp account banned, so each connection may look up CHECK_NUMBERS_LIMIT numbers ' +
        '(200 an hour by default; each number counts, also a repeated one); past it 429 `check_numbers_limited` with Retry-After.',
      request: { params: ConnectionParams, ...jsonBody(CheckNumbersBody) },
      responses: {
        200: jsonContent(CheckedNumbers, 'One answer per number, in the order given.'),
        ...RUNNER_ERRORS,
        429: errorContent('`check_numbers_limited`: this connection looked up its share of numbers; retry after `Retry-After` seconds.'),
      },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const { numbers } = c.req.valid('json');
      const connection = await connectedConnection(c, connection_id);
      const rule = limitsConfig(c.env).checkNumbersPerConnection;
      const decision = await limiterOf(c.env, `check-numbers:${connection.id}`).take(rule, numbers.length);
      if (!decision.allowed) {
        throw new ApiError(
          429,
          'check_numbers_limited',
          `Connection "${connection_id}" may look up ${rule.limit} numbers every ${rule.windowSeconds} s; retry in ${decision.retryAfterSeconds} s.`,
          { limit: rule.limit, window_seconds: rule.windowSeconds },
          { 'retry-after': String(decision.retryAfterSeconds) },
        );
      }
      const jids = numbers.map((n) => `${phoneDigits(n)}@s.whatsapp.net`);
      const result = await act(c.env, connection.id, connection_id, { name: 'check-numbers', jids: [...new Set(jids)] });
      const byJid = new Map((result.numbers ?? []).map((n) => [n.jid, n]));
      return c.json(
        {
          connection_id,
          numbers: numbers.map((number, i) => {
            const answer = byJid.get(jids[i]!);
            return { number, exists: answer?.exists ?? false, jid: answer?.registered_jid ?? null };
          }),
        },
        200,
      );
    },
  );
