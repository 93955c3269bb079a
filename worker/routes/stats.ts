// GET /api/stats: the calling tenant's connections by status, today's messages and the last day's webhook
// failures, for the dashboard's overview.
import { createRoute } from '@hono/zod-openapi';
import { STATS_MAX_SINCE_DAYS, STATS_WEBHOOK_WINDOW_HOURS, Stats, StatsQuery, startOfUtcDay } from '../../protocol/stats';
import { tenantStats } from '../data/stats';
import { errorResponses, jsonContent, newRouter } from '../http/router';

export const statsRoutes = newRouter().openapi(
  createRoute({
    method: 'get',
    path: '/stats',
    tags: ['Overview'],
    summary: 'Counts for the overview',
    description:
      'Your connections by status; messages stored since `since` (default the start of today UTC; at most ' +
      `${STATS_MAX_SINCE_DAYS} days back), by direction; and, over the last ${STATS_WEBHOOK_WINDOW_HOURS} hours, webhook attempts ` +
      'that did not deliver and deliveries that went dead.',
    request: { query: StatsQuery },
    responses: { 200: jsonContent(Stats, 'The counts.'), ...errorResponses(400, 401) },
  }),
  async (c) => {
    const { since } = c.req.valid('query');
    const now = new Date();
    const stats = await tenantStats(c.get('db'), c.get('principal').tenantId, {
      messagesSince: since ? new Date(since) : startOfUtcDay(now),
      webhooksSince: new Date(now.getTime() - STATS_WEBHOOK_WINDOW_HOURS * 3_600_000),
    });
    return c.json(stats, 200);
  },
);
