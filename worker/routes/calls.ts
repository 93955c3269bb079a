// Incoming calls: the per-connection policy the runner applies as a call rings (runner/calls.ts), and the
// calls received. Every call is reported as a `call.received` event (webhook and realtime) whatever the
// policy, and stored once.
import { createRoute, z } from '@hono/zod-openapi';
import { CallPolicy, Connection, ConnectionId } from '../../protocol/connections';
import { Call } from '../../protocol/events';
import { Cursor, limitParam } from '../../protocol/pagination';
import { listCalls } from '../data/calls';
import { getConnection, setCallPolicy, toConnection } from '../data/connections';
import { toCall } from '../data/events/calls';
import { decodeCursor, pageHeaders } from '../data/pagination';
import { errorResponses, jsonBody, jsonContent, newRouter } from '../http/router';

const ConnectionParams = z.object({ connection_id: ConnectionId });

export const callRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'put',
      path: '/connections/{connection_id}/calls',
      tags: ['Connections'],
      summary: 'Set the call policy',
      description:
        'With `reject: true` the runner rejects each incoming call as it rings (the caller sees it declined) and, when `message` is ' +
        'set, then sends the caller that text. Calls delivered late (the account was offline; `offline: true`) are reported, not ' +
        'rejected: they have ended. Takes effect with the next call.',
      request: { params: ConnectionParams, ...jsonBody(CallPolicy) },
      responses: { 200: jsonContent(Connection, 'The connection, with its new policy.'), ...errorResponses(400, 401, 403, 404, 413) },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const row = await setCallPolicy(c.get('db'), c.get('principal').tenantId, connection_id, c.req.valid('json'));
      return c.json(toConnection(row), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections/{connection_id}/calls',
      tags: ['Connections'],
      summary: 'List calls received',
      description:
        'Every call offered to the connection, as its `call.received` event carried it (rejected or not), the most recently placed ' +
        'first. When more exist, X-Next-Cursor (and Link rel="next") name the next page.',
      request: { params: ConnectionParams, query: z.object({ limit: limitParam(50, 500), before: Cursor.optional() }) },
      responses: { 200: jsonContent(z.array(Call), 'Calls, newest first.'), ...errorResponses(400, 401, 403, 404) },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const { limit, before } = c.req.valid('query');
      const db = c.get('db');
      const connection = await getConnection(db, c.get('principal').tenantId, connection_id);
      const rows = await listCalls(db, connection.id, limit, decodeCursor(before, 'jid'));
      return c.json(rows.map(toCall), 200, pageHeaders(c.req.url, rows.map((r) => ({ at: r.timestamp, id: r.callId })), limit));
    },
  );
