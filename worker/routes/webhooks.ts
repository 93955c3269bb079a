// Webhook settings and their delivery log: the seed's PATCH …/webhook (now with event subscriptions) and
// GET /webhook-logs, plus secret rotation, a signed test event, and replays of what did not arrive.
import { createRoute, z } from '@hono/zod-openapi';
import { and, desc, eq } from 'drizzle-orm';
import { webhookLogs } from '../../drizzle/schema';
import { Connection, ConnectionId, UpdateWebhookBody } from '../../protocol/connections';
import { testWebhookBody, webhookBodies } from '../../protocol/events';
import { Cursor, limitParam } from '../../protocol/pagination';
import { WebhookLog, webhookDeliveryStates } from '../../protocol/webhook-logs';
import { ReplayBody, ReplayResult, RotatedWebhookSecret, webhookEventTypes } from '../../protocol/webhooks';
import { newWebhookSecret } from '../auth/credentials';
import { getConnection, rotateWebhookSecret, setWebhook, toConnection, PREVIOUS_SECRET_GRACE_MS } from '../data/connections';
import { reopenDeliveries } from '../data/deliveries';
import { decodeCursor, olderThan, pageHeaders } from '../data/pagination';
import { ApiError } from '../http/errors';
import { errorResponses, jsonBody, jsonContent, newRouter } from '../http/router';
import { attemptDelivery } from '../webhooks/attempt';
import { webhookConfig } from '../webhooks/config';
import { enqueueDeliveries } from '../webhooks/enqueue';
import { acceptWebhookUrl } from './connections';
import { openWebhookSecret, requireWebhookKeyring, sealWebhookSecret } from '../webhooks/secrets';

const tags = ['Webhooks'];
const ConnectionParams = z.object({ connection_id: ConnectionId });

type WebhookLogRow = typeof webhookLogs.$inferSelect;

function toWebhookLog(row: WebhookLogRow, connectionId: string): WebhookLog {
  return {
    id: String(row.id),
    connection_id: connectionId,
    delivery_id: row.deliveryId,
    event_id: row.eventId,
    event_type: row.eventType,
    url: row.url,
    attempt: row.attempt,
    state: row.state,
    status_code: row.statusCode,
    duration_ms: row.durationMs,
    error: row.error,
    response_excerpt: row.responseExcerpt,
    created_at: row.createdAt.toISOString(),
  };
}

export const webhookRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'patch',
      path: '/connections/{connection_id}/webhook',
      tags,
      summary: 'Set or remove the webhook URL and its events',
      description:
        'The URL is checked against the private-target policy here and again before every delivery. `events` chooses what it ' +
        'receives (default `["message.received"]`); left out, the subscription stays as it is.',
      request: { params: ConnectionParams, ...jsonBody(UpdateWebhookBody) },
      responses: { 200: jsonContent(Connection, 'Updated.'), ...errorResponses(400, 401, 404, 413) },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const body = c.req.valid('json');
      const webhookUrl = acceptWebhookUrl(c.env, body.webhook_url);
      const row = await setWebhook(c.get('db'), c.get('principal').tenantId, connection_id, webhookUrl, body.events);
      return c.json(toConnection(row), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections/{connection_id}/webhook/rotate-secret',
      tags,
      summary: 'Rotate the webhook signing secret',
      description:
        'Returns a new `whsec_…` secret (shown only here). For 24 hours every delivery carries signatures under both the new and ' +
        'the previous secret, so receivers can switch without dropping one.',
      request: { params: ConnectionParams },
      responses: { 200: jsonContent(RotatedWebhookSecret, 'The new secret.'), ...errorResponses(401, 404, 503) },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const db = c.get('db');
      const { tenantId } = c.get('principal');
      const ring = await requireWebhookKeyring(c.env);
      const connection = await getConnection(db, tenantId, connection_id);
      const secret = newWebhookSecret();
      const row = await rotateWebhookSecret(db, tenantId, connection_id, await sealWebhookSecret(ring, connection.id, secret));
      const expires = row.previousWebhookSecretExpiresAt ?? new Date(Date.now() + PREVIOUS_SECRET_GRACE_MS);
      return c.json({ connection_id, webhook_secret: secret, previous_secret_expires_at: expires.toISOString() }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections/{connection_id}/webhook/test',
      tags,
      summary: 'Send a signed test event',
      description:
        'Posts `{ "event": "test", … }` to the webhook now, signed like every delivery, and answers with the attempt (also in the ' +
        'webhook logs). It is not retried, and takes no sequence number (`sequence: 0`).',
      request: { params: ConnectionParams },
      responses: { 200: jsonContent(WebhookLog, 'The attempt, whatever the endpoint answered.'), ...errorResponses(401, 404, 409, 503) },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const db = c.get('db');
      const { tenantId } = c.get('principal');
      const connection = await getConnection(db, tenantId, connection_id);
      if (!connection.webhookUrl) throw new ApiError(409, 'webhook_not_configured', 'This connection has no webhook URL; set one with PATCH …/webhook.');
      const config = webhookConfig(c.env);
      const eventId = `msg_test${crypto.randomUUID().replaceAll('-', '')}`;
      const body = JSON.stringify(testWebhookBody(connection_id, { eventId, sequence: 0 }, new Date().toISOString()));
      const ring = await requireWebhookKeyring(c.env);
      const stored = [connection.webhookSecret];
      if (connection.previousWebhookSecret && (connection.previousWebhookSecretExpiresAt?.getTime() ?? 0) > Date.now()) stored.push(connection.previousWebhookSecret);
      const secrets = await Promise.all(stored.map((s) => openWebhookSecret(ring, connection.id, s)));
      const outcome = await attemptDelivery({ url: connection.webhookUrl, webhookId: eventId, body, secrets, timeoutMs: config.timeoutMs, policy: config.policy });
      const [row] = await db
        .insert(webhookLogs)
        .values({
          tenantId,
          connectionPk: connection.id,
          eventId,
          eventType: 'test',
          url: connection.webhookUrl,
          attempt: 1,
          state: outcome.kind === 'delivered' ? 'delivered' : 'failed',
          statusCode: outcome.statusCode,
          durationMs: outcome.durationMs,
          error: outcome.error,
          responseExcerpt: outcome.responseExcerpt,
        })
        .returning();
      return c.json(toWebhookLog(row!, connection_id), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections/{connection_id}/webhook/replay',
      tags,
      summary: 'Replay what did not arrive',
      description:
        'Puts every `dead` (and/or `failed`) delivery of the connection created since `since` back on the queue; each starts its ' +
        'retry schedule again, keeps its `webhook-id` and its body.',
      request: { params: ConnectionParams, ...jsonBody(ReplayBody) },
      responses: { 202: jsonContent(ReplayResult, 'Queued again.'), ...errorResponses(400, 401, 404) },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const { since, states } = c.req.valid('json');
      const db = c.get('db');
      const { tenantId } = c.get('principal');
      const connection = await getConnection(db, tenantId, connection_id);
      const ids = await reopenDeliveries(db, { tenantId, connectionPk: connection.id, since: new Date(since), states });
      await enqueueDeliveries(c.env, ids);
      return c.json({ replayed: ids.length }, 202);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/webhook-logs/{connection_id}',
      tags,
      summary: 'List webhook delivery attempts',
      description: 'One entry per attempt, newest first; filter by `state` and `event`. X-Next-Cursor (and Link rel="next") name the next page.',
      request: {
        params: ConnectionParams,
        query: z.object({
          limit: limitParam(100, 1000),
          before: Cursor.optional(),
          state: z.enum(webhookDeliveryStates).optional().meta({ description: 'Only attempts that ended in this state.' }),
          event: z.enum([...webhookEventTypes, 'test']).optional().meta({ description: 'Only attempts of this event type.' }),
        }),
      },
      responses: { 200: jsonContent(z.array(WebhookLog), 'Delivery attempts.'), ...errorResponses(400, 401, 404) },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const { limit, before, state, event } = c.req.valid('query');
      const db = c.get('db');
      const { tenantId } = c.get('principal');
      const connection = await getConnection(db, tenantId, connection_id);
      const cursor = decodeCursor(before, 'serial');
      const rows = await db
        .select()
        .from(webhookLogs)
        .where(
          and(
            eq(webhookLogs.connectionPk, connection.id),
            eq(webhookLogs.tenantId, tenantId),
            state ? eq(webhookLogs.state, state) : undefined,
            event ? eq(webhookLogs.eventType, event) : undefined,
            cursor ? olderThan(webhookLogs.createdAt, webhookLogs.id, cursor) : undefined,
          ),
        )
        .orderBy(desc(webhookLogs.createdAt), desc(webhookLogs.id))
        .limit(limit);
      return c.json(
        rows.map((r) => toWebhookLog(r, connection_id)),
        200,
        pageHeaders(c.req.url, rows.map((r) => ({ at: r.createdAt, id: r.id })), limit),
      );
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/webhook-logs/{id}/replay',
      tags,
      summary: 'Replay one delivery',
      description:
        "Sends the attempt's delivery again (same `webhook-id` and body), whatever became of it, starting its retry schedule anew. " +
        'A delivery still being tried is left alone (`replayed: 0`).',
      request: { params: z.object({ id: z.string().regex(/^\d{1,18}$/, 'a webhook log id') }) },
      responses: { 202: jsonContent(ReplayResult, 'Queued again.'), ...errorResponses(400, 401, 404, 409) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const db = c.get('db');
      const { tenantId } = c.get('principal');
      const [log] = await db
        .select({ deliveryId: webhookLogs.deliveryId, connectionPk: webhookLogs.connectionPk })
        .from(webhookLogs)
        .where(and(eq(webhookLogs.id, Number(id)), eq(webhookLogs.tenantId, tenantId)))
        .limit(1);
      if (!log) throw new ApiError(404, 'webhook_log_not_found', `No webhook log entry ${id}.`);
      if (!log.deliveryId) throw new ApiError(409, 'conflict', 'A test event has no delivery to replay; send another test.');
      const ids = await reopenDeliveries(db, { tenantId, connectionPk: log.connectionPk, deliveryId: log.deliveryId });
      await enqueueDeliveries(c.env, ids);
      return c.json({ replayed: ids.length }, 202);
    },
  );

/** The events a webhook receives, as the OpenAPI document's `webhooks` (one entry per event type). */
export function registerWebhookEvents(app: ReturnType<typeof newRouter>) {
  for (const [event, schema] of Object.entries(webhookBodies)) {
    app.openAPIRegistry.registerWebhook({
      method: 'post',
      path: event,
      tags,
      summary: `${event} delivery`,
      description:
        'POSTed to the connection\'s webhook URL, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`). ' +
        'Answer 2xx within 10 s; anything else is retried for about a day, 410 stops it (docs/webhooks.md).',
      request: { body: { content: { 'application/json': { schema } } } },
      responses: { 200: { description: 'Any 2xx: delivered.' }, 410: { description: 'Gone: no more deliveries of it are retried.' } },
    });
  }
}
