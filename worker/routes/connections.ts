// The seed's connection endpoints: create, list, read, change webhook, delete, and read the QR.
import { createRoute, z } from '@hono/zod-openapi';
import {
  Connection,
  ConnectionId,
  CreateConnectionBody,
  CreatedConnection,
  DeletedConnection,
  QrResponse,
} from '../../protocol/connections';
import { Cursor, limitParam } from '../../protocol/pagination';
import { newWebhookSecret } from '../auth/credentials';
import {
  deleteConnection,
  getConnection,
  requestStart,
  type ConnectionRow,
  insertConnection,
  listConnections,
  markLoggedOut,
  toConnection,
} from '../data/connections';
import { decodeCursor, pageHeaders } from '../data/pagination';
import { ApiError } from '../http/errors';
import { errorContent, errorResponses, jsonBody, jsonContent, newRouter } from '../http/router';
import { checkWebhookUrl, webhookTargetPolicy } from '../lib/webhook-url';
import { renderQrDataUrl } from '../lib/qr';
import type { Env } from '../env';
import { removeAuthState } from '../internal/auth-store';
import { removeInboundMedia } from '../media-in/store';
import { poke } from '../scheduler/client';
import { limitsConfig } from '../limits/config';
import { requireWebhookKeyring, sealWebhookSecret } from '../webhooks/secrets';

const tags = ['Connections'];
/** Starting an unlinked session (QR, pairing code, restart) counts against the tenant's quota of them. */
export const UNLINKED_QUOTA = errorContent(
  'Or `unlinked_session_quota_exceeded`: the account already has its quota of connections waiting to be linked.',
);
const ConnectionParams = z.object({ connection_id: ConnectionId });

export function acceptWebhookUrl(env: Env, raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  const verdict = checkWebhookUrl(raw, webhookTargetPolicy(env));
  if (!verdict.ok) throw new ApiError(400, 'invalid_webhook_url', `webhook_url refused: ${verdict.reason}.`, { reason: verdict.refusal });
  return verdict.url;
}

export const connectionRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections',
      tags,
      summary: 'Create a connection',
      description:
        'Registers a WhatsApp connection under your own id. Its webhook secret is returned once, here. An account has a ' +
        'quota of connections (100 unless agreed otherwise): past it, 403 `connection_quota_exceeded`.',
      request: jsonBody(CreateConnectionBody),
      responses: {
        201: jsonContent(CreatedConnection, 'Created.'),
        ...errorResponses(400, 401, 409, 413, 503),
        403: errorContent('`connection_quota_exceeded`: the account has its quota of connections (or the key lacks `manage`: `insufficient_scope`).'),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const { tenantId } = c.get('principal');
      const webhookUrl = acceptWebhookUrl(c.env, body.webhook_url);
      const ring = await requireWebhookKeyring(c.env);
      // The id is chosen here, not by Postgres: the sealed secret is bound to it.
      const id = crypto.randomUUID();
      const webhookSecret = newWebhookSecret();
      const row = await insertConnection(c.get('db'), {
        id,
        tenantId,
        connectionId: body.connection_id,
        webhookUrl,
        webhookSecret: await sealWebhookSecret(ring, id, webhookSecret),
      }, limitsConfig(c.env).maxConnections);
      if (!row) {
        throw new ApiError(409, 'connection_exists', `A connection named "${body.connection_id}" already exists.`);
      }
      return c.json({ ...toConnection(row), webhook_secret: webhookSecret }, 201);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections',
      tags,
      summary: 'List connections',
      description: 'Newest first. When more exist, X-Next-Cursor (and Link rel="next") name the next page.',
      request: { query: z.object({ limit: limitParam(100, 500), before: Cursor.optional() }) },
      responses: { 200: jsonContent(z.array(Connection), 'Your connections.'), ...errorResponses(400, 401) },
    }),
    async (c) => {
      const { limit, before } = c.req.valid('query');
      const rows = await listConnections(c.get('db'), c.get('principal').tenantId, limit, decodeCursor(before, 'uuid'));
      const headers = pageHeaders(c.req.url, rows.map((r) => ({ at: r.createdAt, id: r.id })), limit);
      return c.json(rows.map(toConnection), 200, headers);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections/{connection_id}',
      tags,
      summary: 'Get a connection',
      request: { params: ConnectionParams },
      responses: { 200: jsonContent(Connection, 'The connection.'), ...errorResponses(400, 401, 404) },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const row = await getConnection(c.get('db'), c.get('principal').tenantId, connection_id);
      return c.json(toConnection(row), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/connections/{connection_id}',
      tags,
      summary: 'Delete a connection',
      description: 'Removes the connection with its chats, messages and webhook logs.',
      request: { params: ConnectionParams },
      responses: { 200: jsonContent(DeletedConnection, 'Deleted.'), ...errorResponses(400, 401, 404) },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const db = c.get('db');
      const tenantId = c.get('principal').tenantId;
      // In this order, so that no failure leaves auth state behind a connection that is gone: the lease is
      // fenced and the session stopped (late writes of the holder are refused from here on), the auth state
      // removed, and only then the row. Should a step fail, the connection is still there, logged out, and
      // deleting it again finishes the job. The second removal catches a write that raced with the first.
      const row = await getConnection(db, tenantId, connection_id);
      await markLoggedOut(db, row.id, 'delete_requested');
      await poke(c.env, row.id);
      await removeAuthState(c.env.SESSIONS, row.id);
      await removeInboundMedia(c.env.MEDIA, tenantId, row.id);
      await deleteConnection(db, tenantId, connection_id);
      // Best effort: the connection is gone either way, and a write this could still catch is already refused.
      await removeInboundMedia(c.env.MEDIA, tenantId, row.id).catch(() => {});
      await removeAuthState(c.env.SESSIONS, row.id).catch((e) =>
        console.error(JSON.stringify({ level: 'error', msg: 'second auth state removal failed', connectionPk: row.id, error: String(e) })),
      );
      return c.json({ connection_id, deleted: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/get-qr/{connection_id}',
      tags,
      summary: 'Get the QR code to link the account',
      description:
        'Starts the session if it is not running and returns the current QR: `qr` is a PNG data URL (scan it in WhatsApp → ' +
        'Linked devices), or null when none is waiting (already connected, or none appeared within `wait` seconds).',
      request: {
        params: ConnectionParams,
        query: z.object({
          wait: z.coerce
            .number()
            .int()
            .min(0)
            .max(25)
            .default(10)
            .meta({ description: 'Seconds to wait for a QR when none is ready yet (0–25, default 10).' }),
        }),
      },
      responses: { 200: jsonContent(QrResponse, 'The current QR, if any.'), ...errorResponses(400, 401, 404), 429: UNLINKED_QUOTA },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const { wait } = c.req.valid('query');
      const db = c.get('db');
      const tenantId = c.get('principal').tenantId;
      let row = await getConnection(db, tenantId, connection_id);
      if (row.status !== 'connected') {
        // Asking for a QR is asking for the session to run.
        row = await requestStart(db, tenantId, connection_id, limitsConfig(c.env).maxUnlinkedSessions);
        await poke(c.env, row.id);
        const deadline = Date.now() + wait * 1000;
        const requestedAt = row.startRequestedAt?.getTime() ?? Date.now();
        while (!liveQr(row) && row.status !== 'connected' && !endedSince(row, requestedAt) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, QR_POLL_MS));
          row = await getConnection(db, tenantId, connection_id);
        }
      }
      const live = liveQr(row);
      return c.json(
        {
          qr: live ? await renderQrDataUrl(row.qrRaw!) : null,
          qr_raw: live ? row.qrRaw : null,
          expires_at: live && row.qrExpiresAt ? row.qrExpiresAt.toISOString() : null,
          connection_id,
          status: row.status,
          status_reason: row.statusReason,
        },
        200,
      );
    },
  );

const QR_POLL_MS = 250;

/** The session this request started has already ended without a QR (e.g. `untrusted_server`): no use waiting. */
const endedSince = (row: ConnectionRow, requestedAt: number) =>
  row.status !== 'connecting' && row.statusChangedAt.getTime() > requestedAt;

function liveQr(row: ConnectionRow): boolean {
  return Boolean(row.qrRaw && row.status === 'connecting' && (!row.qrExpiresAt || row.qrExpiresAt.getTime() > Date.now()));
}
