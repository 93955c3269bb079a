// The control plane's HTTP surface: public docs and login, then everything else behind tenant auth.
import { Scalar } from '@scalar/hono-api-reference';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { requireTenant } from './auth/middleware';
import { withDeclaredScopes } from './auth/scopes';
import { withRateLimits } from './limits/openapi';
import { HSTS, SECURE_SESSION_COOKIE, isLocalUrl } from './auth/session-cookie';
import { httpDb } from './data/db';
import type { Env } from './env';
import { refuseNul } from './http/refuse-nul';
import { limitBody } from './http/body-limit';
import type { AppEnv } from './http/context';
import { errorResponse, renderError } from './http/errors';
import { newRouter } from './http/router';
import { isSendMessage } from './http/send-route';
import { internalRoutes } from './internal/routes';
import { MEDIA_IN_CEILING_BYTES } from './media-in/store';
import { base64Length, maxMediaBytes } from './lib/media-source';
import { apiKeyRoutes } from './routes/api-keys';
import { connectionRoutes } from './routes/connections';
import { groupRoutes } from './routes/groups';
import { contactRoutes } from './routes/contacts';
import { messageRoutes } from './routes/messages';
import { messageActionRoutes } from './routes/message-actions';
import { callRoutes } from './routes/calls';
import { chatActionRoutes } from './routes/chat-actions';
import { mediaRoutes, signedMediaLinks } from './routes/media';
import { realtimeRoutes, socketIoRoutes } from './routes/realtime';
import { sandboxRoutes } from './routes/sandbox';
import { loginRoutes, sessionRoutes } from './routes/session';
import { sessionControlRoutes } from './routes/sessions';
import { statsRoutes } from './routes/stats';
import { registerWebhookEvents, webhookRoutes } from './routes/webhooks';

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const maxBodyBytes = (env: Env) => Number(env.MAX_BODY_BYTES) || DEFAULT_MAX_BODY_BYTES;
/**
 * send-message may carry a file as base64: its body may hold that on top of the usual limit (which the
 * rest of the body keeps). Every other route keeps MAX_BODY_BYTES.
 */
const apiMaxBodyBytes = (c: Context<AppEnv>) =>
  isSendMessage(c.req.raw)
    ? maxBodyBytes(c.env) + base64Length(maxMediaBytes(c.env))
    : maxBodyBytes(c.env);
const INTERNAL_MAX_BODY_BYTES = 32 * 1024 * 1024;
/** A received file streams through /internal/media-in (bounded there by the tenant's limit, under Cloudflare's 100 MB). */
const internalMaxBodyBytes = (c: Context<AppEnv>) =>
  new URL(c.req.url).pathname.startsWith('/internal/media-in/') ? MEDIA_IN_CEILING_BYTES : INTERNAL_MAX_BODY_BYTES;

/** Postgres for the request, and a place for writes that may finish after the response is out. */
const withDb = createMiddleware<AppEnv>(async (c, next) => {
  c.set('db', httpDb(c.env));
  c.set('afterResponse', (work) => {
    // Started on a later turn of the event loop, so that building and sending it does not hold up the response.
    const started = new Promise((resolve) => setTimeout(resolve, 0)).then(work);
    c.executionCtx.waitUntil(started.catch((e) => console.error(JSON.stringify({ level: 'error', msg: 'background write failed', error: String(e) }))));
  });
  await next();
});

export function createApp() {
  const app = newRouter();
  app.onError(renderError);
  // Browsers that reached us over https are told to keep to it (not on a local address: dev and tests).
  app.use('*', async (c, next) => {
    await next();
    if (!isLocalUrl(c.req.url)) c.res.headers.set('strict-transport-security', HSTS);
  });
  app.notFound((c) => errorResponse(c, 404, 'not_found', `No route for ${c.req.method} ${c.req.path}.`));

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key: `Authorization: Bearer sk_live_…`.',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKeyHeader', { type: 'apiKey', in: 'header', name: 'x-api-key' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'sessionCookie', { type: 'apiKey', in: 'cookie', name: SECURE_SESSION_COOKIE });

  // Public: the API reference, each operation with the API key scope it needs (auth/scopes.ts).
  app.get('/api/openapi.json', (c) =>
    c.json(
      withRateLimits(withDeclaredScopes(
        app.getOpenAPI31Document({
          openapi: '3.1.0',
          info: {
            title: 'Switchboard API',
            version: '1.0.0',
            description:
              'Multi-tenant WhatsApp gateway. Every route needs an API key (Bearer or x-api-key) or a dashboard session, ' +
              'and sees only its own tenant. An API key has scopes (`read`, `send`, `manage`); each operation names the one it ' +
              'needs in `x-required-scope` and in its security requirement, and a key without it is refused with 403 ' +
              '`insufficient_scope`. Each request counts against its credential\'s request limit (`RateLimit-*` headers; past it ' +
              '429 `rate_limited` with `Retry-After`). Errors are `{ "error": { "code", "message", "details"? } }`.',
          },
          servers: [{ url: new URL(c.req.url).origin }],
          security: [{ bearerAuth: [] as string[] }, { apiKeyHeader: [] as string[] }, { sessionCookie: [] as string[] }] as Record<string, string[]>[],
        }),
      )),
    ),
  );
  app.get('/api/docs', Scalar({ url: '/api/openapi.json', pageTitle: 'Switchboard API' }));
  registerWebhookEvents(app);

  // Socket.IO-compatible realtime (long-polls and WebSockets): outside /api's body limit and auth chain.
  app.route('/', socketIoRoutes);

  // Runner-facing routes: own auth (runner token), bigger bodies (event batches, auth snapshots).
  app.use('/internal/*', limitBody(internalMaxBodyBytes), withDb);
  app.route('/internal', internalRoutes);

  app.use('/api/*', limitBody(apiMaxBodyBytes), refuseNul, withDb);
  app.route('/api', loginRoutes);
  // The realtime stream authenticates itself (API key, cookie or a ticket): before requireTenant.
  app.route('/api', realtimeRoutes);

  // Signed media links (webhook bodies) are their own credential: checked before requireTenant.
  app.use('/api/media/*', signedMediaLinks);
  app.use('/api/*', requireTenant);
  app.route('/api', sessionRoutes);
  app.route('/api', apiKeyRoutes);
  app.route('/api', connectionRoutes);
  app.route('/api', sessionControlRoutes);
  app.route('/api', callRoutes);
  app.route('/api', messageRoutes);
  app.route('/api', messageActionRoutes);
  app.route('/api', groupRoutes);
  app.route('/api', contactRoutes);
  app.route('/api', chatActionRoutes);
  app.route('/api', mediaRoutes);
  app.route('/api', webhookRoutes);
  app.route('/api', statsRoutes);
  app.route('/api', sandboxRoutes);
  return app;
}
