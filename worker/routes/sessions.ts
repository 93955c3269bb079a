// Session control beyond the seed: pairing-code login, logout and restart.
import { createRoute, z } from '@hono/zod-openapi';
import { Connection, ConnectionId } from '../../protocol/connections';
import { getConnection, markLoggedOut, requestStart, toConnection } from '../data/connections';
import { limitsConfig } from '../limits/config';
import { UNLINKED_QUOTA } from './connections';
import { ApiError } from '../http/errors';
import { errorResponses, jsonBody, jsonContent, newRouter } from '../http/router';
import { removeAuthState } from '../internal/auth-store';
import { poke, runCommand } from '../scheduler/client';
import type { Command } from '../../protocol/runner';
import type { CommandOutcome } from '../scheduler/scheduler';
import type { Env } from '../env';

const tags = ['Connections'];
const Params = z.object({ connection_id: ConnectionId });
/** How long to wait for a runner to pick a just-started session up (placement + handshake). */
const PICKUP_TIMEOUT_MS = 25_000;

const PairingCodeBody = z
  .object({
    phone_number: z
      .string()
      .regex(/^\+?[1-9]\d{5,14}$/, 'the phone number of the WhatsApp account, with country code')
      .meta({ example: '+923001234567' }),
  })
  .strict()
  .meta({ id: 'PairingCodeBody' });

const PairingCode = z
  .object({
    connection_id: ConnectionId,
    code: z.string().meta({ description: 'Type it in WhatsApp → Linked devices → Link with phone number.', example: 'ABCD1234' }),
  })
  .meta({ id: 'PairingCode' });

/** Retries a command while the session is still being placed or opened. */
async function commandWhenReady(env: Env, connectionPk: string, command: Command) {
  const deadline = Date.now() + PICKUP_TIMEOUT_MS;
  let last: CommandOutcome;
  do {
    last = await runCommand(env, connectionPk, command, 15_000);
    if (last.ok || !['no_runner', 'not_connected', 'not_holding_lease'].includes(last.error.code)) return last;
    await new Promise((r) => setTimeout(r, 500));
  } while (Date.now() < deadline);
  return last;
}

export const sessionControlRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections/{connection_id}/pairing-code',
      tags,
      summary: 'Link with a pairing code instead of a QR',
      description:
        'Starts the session if needed and asks WhatsApp for an 8-character code for this phone number; enter it on the phone.',
      request: { params: Params, ...jsonBody(PairingCodeBody) },
      responses: { 200: jsonContent(PairingCode, 'The code to type on the phone.'), ...errorResponses(400, 401, 404, 409, 503, 504), 429: UNLINKED_QUOTA },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const phone = c.req.valid('json').phone_number.replace(/^\+/, '');
      const db = c.get('db');
      const existing = await getConnection(db, c.get('principal').tenantId, connection_id);
      if (existing.status === 'connected') throw new ApiError(409, 'conflict', `Connection "${connection_id}" is already linked.`);
      const row = await requestStart(db, c.get('principal').tenantId, connection_id, limitsConfig(c.env).maxUnlinkedSessions);
      await poke(c.env, row.id);
      const outcome = await commandWhenReady(c.env, row.id, { name: 'pairing-code', phone_number: phone });
      if (outcome.ok && outcome.result.code) return c.json({ connection_id, code: outcome.result.code }, 200);
      if (!outcome.ok && outcome.error.code === 'timeout') throw new ApiError(504, 'runner_timeout', outcome.error.message);
      throw new ApiError(503, 'pairing_unavailable', outcome.ok ? 'No pairing code was returned.' : outcome.error.message);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections/{connection_id}/logout',
      tags,
      summary: 'Log out (unlink from the phone)',
      description: 'Unlinks the device from the WhatsApp account and deletes the stored session. Link again with get-qr.',
      request: { params: Params },
      responses: { 200: jsonContent(Connection, 'Logged out.'), ...errorResponses(400, 401, 404, 503, 504) },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const db = c.get('db');
      const tenantId = c.get('principal').tenantId;
      const row = await getConnection(db, tenantId, connection_id);
      const outcome = await runCommand(c.env, row.id, { name: 'logout' }, 20_000);
      if (!outcome.ok && outcome.error.code === 'timeout') throw new ApiError(504, 'runner_timeout', outcome.error.message);
      // Whatever the runner managed, the stored session is gone and the connection stays stopped. The lease
      // is fenced first, so that a late flush of the old holder is refused rather than re-creating the state.
      await markLoggedOut(db, row.id);
      await removeAuthState(c.env.SESSIONS, row.id);
      await poke(c.env, row.id);
      return c.json(toConnection(await getConnection(db, tenantId, connection_id)), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections/{connection_id}/restart',
      tags,
      summary: 'Restart the session',
      description: 'Closes and reopens the WhatsApp socket from the stored session; starts it if it was not running.',
      request: { params: Params },
      responses: { 200: jsonContent(Connection, 'Restarting.'), ...errorResponses(400, 401, 404), 429: UNLINKED_QUOTA },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const db = c.get('db');
      const row = await requestStart(db, c.get('principal').tenantId, connection_id, limitsConfig(c.env).maxUnlinkedSessions);
      const outcome = await runCommand(c.env, row.id, { name: 'restart' }, 15_000);
      if (!outcome.ok) await poke(c.env, row.id);
      return c.json(toConnection(row), 200);
    },
  );
