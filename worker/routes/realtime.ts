// The realtime channel's entry points: GET /api/realtime (a WebSocket onto the tenant's Hub), the tickets
// browsers use to open it, and the Socket.IO-compatible path /socket.io/ (worker/realtime/). The Worker
// authenticates and checks the connection filter; the Hub (worker/hub/hub.ts) holds the sockets.
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ErrorBody } from '../../protocol/errors';
import { RealtimeFrame } from '../../protocol/events';
import { RealtimeQuery, ResyncFrame, Ticket, TicketBody, type RealtimeErrorCode } from '../../protocol/realtime';
import { assertSameOrigin, requireTenant } from '../auth/middleware';
import { getConnection } from '../data/connections';
import { hubOf } from '../hub/client';
import { INTERNAL_HEADERS } from '../hub/hub';
import type { AppEnv } from '../http/context';
import { errorResponses, jsonContent, newRouter } from '../http/router';
import { streamCredentialOf, tenantFromTicket, type StreamCredential } from '../realtime/credentials';
import { newSid, SESSION_HEADERS } from '../realtime/socketio-session';

const tags = ['Realtime'];

/** The API's one error body, for the realtime route's own codes. */
const realtimeError = (c: Context, status: ContentfulStatusCode, code: RealtimeErrorCode, message: string) =>
  c.json({ error: { code, message } }, status);

/** The stream answers with a 101 (or an error) it builds itself: the OpenAPI entry documents them. */
const untyped = (res: Response) => res as never;

const isUpgrade = (req: Request) => req.headers.get('upgrade')?.toLowerCase() === 'websocket';

/** Who opens the stream: a ticket (spent here), else the API's usual credentials. */
async function streamTenant(c: Context<AppEnv>, ticket: string | undefined): Promise<({ tenantId: string } & StreamCredential) | Response> {
  if (ticket !== undefined) {
    const redeemed = await tenantFromTicket(c.env, ticket);
    return redeemed ?? realtimeError(c, 401, 'invalid_ticket', 'The ticket is not valid, has expired or was already used.');
  }
  await requireTenant(c, async () => {});
  const principal = c.get('principal');
  // Browsers send cookies on cross-site WebSocket upgrades too (they are GETs, which the API otherwise
  // trusts): a cookie-authenticated stream must be opened from our own pages.
  if (principal.via === 'session') assertSameOrigin(c.req.raw);
  return { tenantId: principal.tenantId, ...streamCredentialOf(principal) };
}

/** Mounted before `requireTenant`: the stream authenticates itself (tickets), the ticket route uses it. */
export const realtimeRoutes = newRouter();

realtimeRoutes.use('/realtime/ticket', requireTenant);

realtimeRoutes
  .openapi(
    createRoute({
      method: 'get',
      path: '/realtime',
      tags,
      summary: 'Open the realtime stream (WebSocket)',
      description:
        'Upgrade to a WebSocket that carries this tenant\'s events as JSON text frames `{ event, data, sequence }` ' +
        '(`connection-status`, `qr-update`, `new-message`, `message-sent`, `message-status`). Authenticate with an API key ' +
        '(`Authorization: Bearer …` or `x-api-key`), the dashboard cookie (same origin only) or `?ticket=` from ' +
        'POST /api/realtime/ticket. `?connection_id=` narrows the stream to one connection. `?since=` replays what came ' +
        'after that sequence from the buffer (the last 1,000 events, at most 10 minutes old) before live frames, or sends ' +
        'one `resync` frame when the buffer no longer reaches back that far. Send the text `ping` to get `pong`. See docs/realtime.md.',
      request: { query: RealtimeQuery },
      responses: {
        101: { description: 'Switching Protocols: frames follow.', content: { 'application/json': { schema: z.union([RealtimeFrame, ResyncFrame]) } } },
        426: jsonContent(ErrorBody, 'Not a WebSocket upgrade.'),
        ...errorResponses(400, 401, 403, 404),
      },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const notUpgrade = () =>
        untyped(realtimeError(c, 426, 'upgrade_required', 'GET /api/realtime is a WebSocket: send Upgrade: websocket (see docs/realtime.md).'));
      // A ticket works once: one that came without an upgrade is not spent. Any other credential is judged
      // first, so that a caller without one learns only that (401), as on every other route.
      if (query.ticket !== undefined && !isUpgrade(c.req.raw)) return notUpgrade();
      const opened = await streamTenant(c, query.ticket);
      if (opened instanceof Response) return untyped(opened);
      const tenant = opened.tenantId;
      if (!isUpgrade(c.req.raw)) return notUpgrade();
      if (query.connection_id !== undefined) await getConnection(c.get('db'), tenant, query.connection_id);

      const headers = new Headers(c.req.raw.headers);
      // Only the Worker speaks for the caller: whatever a client put in these is dropped.
      for (const name of Object.values(INTERNAL_HEADERS)) headers.delete(name);
      if (query.connection_id !== undefined) headers.set(INTERNAL_HEADERS.filter, query.connection_id);
      if (query.since !== undefined) headers.set(INTERNAL_HEADERS.since, String(query.since));
      // The stream ends with what opened it: a revoked key, a logged-out session, an expired key.
      headers.set(INTERNAL_HEADERS.credential, opened.credential);
      if (opened.expiresAt !== null) headers.set(INTERNAL_HEADERS.expiresAt, String(opened.expiresAt));
      headers.set('x-partykit-room', tenant);
      return untyped((await hubOf(c.env, tenant).fetch(new Request(c.req.url, { method: 'GET', headers }))) as unknown as Response);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/realtime/ticket',
      tags,
      summary: 'Get a realtime ticket',
      description:
        'A single-use credential for GET /api/realtime?ticket=… (or Socket.IO `auth: { ticket }`), for clients that cannot ' +
        'set headers on a WebSocket (browsers). Valid for `ttl_seconds` (default and at most 60); works once.',
      request: { body: { required: false, content: { 'application/json': { schema: TicketBody } } } },
      responses: { 201: jsonContent(Ticket, 'Issued.'), ...errorResponses(400, 401, 403) },
    }),
    async (c) => {
      const body = (c.req.valid('json') ?? {}) as z.infer<typeof TicketBody>;
      const principal = c.get('principal');
      const issued = await hubOf(c.env, principal.tenantId).issueTicket(body.ttl_seconds, streamCredentialOf(principal));
      return c.json({ ticket: issued.ticket, expires_at: new Date(issued.expiresAt).toISOString() }, 201);
    },
  );

// ---------------------------------------------------------------------------------------------------
// Socket.IO (Engine.IO v4) at /socket.io/: the Worker only validates the query and routes each request to
// the session's Durable Object by its sid (a fresh one for a handshake); the session authenticates itself
// in its CONNECT packet. Outside /api: no body limit or auth middleware in front of long-polls.

const EngineQuery = z.object({
  EIO: z.string(),
  transport: z.enum(['polling', 'websocket']),
  sid: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/).optional(),
});

const engineError = (c: Context, status: ContentfulStatusCode, code: string, message: string) => c.json({ error: { code, message } }, status);

export const socketIoRoutes = newRouter();

socketIoRoutes.on(['GET', 'POST'], ['/socket.io', '/socket.io/'], async (c) => {
  const parsed = EngineQuery.safeParse(c.req.query());
  if (!parsed.success) return engineError(c, 400, 'validation_failed', 'Expected ?EIO=4&transport=polling|websocket[&sid=…].');
  const { EIO, transport, sid } = parsed.data;
  if (EIO !== '4') return engineError(c, 400, 'bad_request', 'Unsupported Engine.IO protocol version: this server speaks EIO=4 (socket.io-client v3 and v4).');
  const upgrade = isUpgrade(c.req.raw);
  if (transport === 'websocket' && !upgrade) return engineError(c, 400, 'bad_request', 'transport=websocket needs a WebSocket upgrade.');
  if (!sid && c.req.method !== 'GET') return engineError(c, 400, 'bad_request', 'A handshake is a GET.');

  const id = sid ?? newSid();
  const headers = new Headers(c.req.raw.headers);
  for (const name of Object.values(SESSION_HEADERS)) headers.delete(name);
  headers.set(SESSION_HEADERS.sid, id);
  if (!sid) headers.set(SESSION_HEADERS.handshake, '1');
  const session = c.env.SOCKETIO.get(c.env.SOCKETIO.idFromName(id));
  const body = c.req.method === 'POST' ? c.req.raw.body : null;
  return session.fetch(new Request(c.req.url, { method: c.req.method, headers, body })) as unknown as Response;
});
