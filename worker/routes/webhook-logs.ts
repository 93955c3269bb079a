// The seed's webhook log endpoint: every delivery attempt for one connection, newest first.
import { createRoute, z } from '@hono/zod-openapi';
import { and, desc, eq } from 'drizzle-orm';
import { webhookLogs } from '../../drizzle/schema';
import { ConnectionId } from '../../protocol/connections';
import { Cursor, limitParam } from '../../protocol/pagination';
import { WebhookLog } from '../../protocol/webhook-logs';
import { getConnection } from '../data/connections';
import { decodeCursor, olderThan, pageHeaders } from '../data/pagination';
import { errorResponses, jsonContent, newRouter } from '../http/router';

type WebhookLogRow = typeof webhookLogs.$inferSelect;

function toWebhookLog(row: WebhookLogRow, connectionId: string): WebhookLog {
  return {
    id: String(row.id),
    connection_id: connectionId,
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

export const webhookLogRoutes = newRouter().openapi(
  createRoute({
    method: 'get',
    path: '/webhook-logs/{connection_id}',
    tags: ['Webhooks'],
    summary: 'List webhook delivery attempts',
    description: 'One entry per attempt, newest first.',
    request: {
      params: z.object({ connection_id: ConnectionId }),
      query: z.object({ limit: limitParam(100, 1000), before: Cursor.optional() }),
    },
    responses: { 200: jsonContent(z.array(WebhookLog), 'Delivery attempts.'), ...errorResponses(400, 401, 404) },
  }),
  async (c) => {
    const { connection_id } = c.req.valid('param');
    const { limit, before } = c.req.valid('query');
    const db = c.get('db');
    const { tenantId } = c.get('principal');
    const connection = await getConnection(db, tenantId, connection_id);
    const cursor = decodeCursor(before);
    const scope = and(eq(webhookLogs.connectionPk, connection.id), eq(webhookLogs.tenantId, tenantId));
    const rows = await db
      .select()
      .from(webhookLogs)
      .where(cursor ? and(scope, olderThan(webhookLogs.createdAt, webhookLogs.id, cursor)) : scope)
      .orderBy(desc(webhookLogs.createdAt), desc(webhookLogs.id))
      .limit(limit);
    return c.json(
      rows.map((r) => toWebhookLog(r, connection_id)),
      200,
      pageHeaders(c.req.url, rows.map((r) => ({ at: r.createdAt, id: r.id })), limit),
    );
  },
);
