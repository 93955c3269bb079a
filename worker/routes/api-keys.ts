// API key management: issue (shown once), list (prefix only), revoke. A credential hands out no more than
// it holds: a new key's scopes are within the caller's and it never outlives the calling key; and a key
// revokes only keys within its own scopes (a leaked narrow key cannot cut off the tenant's full one).
import { createRoute, z } from '@hono/zod-openapi';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { apiKeys, nowMs } from '../../drizzle/schema';
import { ApiKey, CreateApiKeyBody, CreatedApiKey, canonicalScopes, type ApiKeyScope } from '../../protocol/auth';
import { issueApiKey } from '../auth/credentials';
import { endStreamsOf } from '../hub/client';
import type { Principal } from '../http/context';
import { ApiError, notFound } from '../http/errors';
import { errorContent, errorResponses, jsonBody, jsonContent, newRouter } from '../http/router';

type ApiKeyRow = typeof apiKeys.$inferSelect;
const tags = ['API keys'];
const KeyParams = z.object({ id: z.uuid().meta({ description: 'The key id (not the key).' }) });

function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    created_at: row.createdAt.toISOString(),
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
    revoked_at: row.revokedAt?.toISOString() ?? null,
    scopes: canonicalScopes(row.scopes),
    expires_at: row.expiresAt?.toISOString() ?? null,
  };
}

const named = (scopes: readonly ApiKeyScope[]) => scopes.map((s) => `\`${s}\``).join(', ') || 'none';

/** 403 unless every one of `scopes` is the caller's too. */
function assertWithinCaller(caller: Principal, scopes: readonly ApiKeyScope[], doing: string) {
  const beyond = scopes.filter((s) => !caller.scopes.includes(s));
  if (beyond.length === 0) return;
  throw new ApiError(
    403,
    'insufficient_scope',
    `This API key cannot ${doing} with the ${named(beyond)} scope: it has ${named(caller.scopes)}, and a key never acts beyond its own scope.`,
    { required: beyond, scopes: caller.scopes },
  );
}

/** When the new key expires: as asked, else as the calling key does; never after the calling key. */
function expiryFor(caller: Principal, asked: string | undefined): Date | null {
  const at = asked === undefined ? caller.expiresAt : new Date(asked);
  if (caller.expiresAt && (!at || at > caller.expiresAt)) {
    throw new ApiError(
      403,
      'insufficient_scope',
      `This API key expires at ${caller.expiresAt.toISOString()}; the keys it creates cannot outlive it (give expires_at no later than that).`,
      { expires_at: caller.expiresAt.toISOString() },
    );
  }
  return at;
}

const refusedScope = errorContent('The calling key lacks the `manage` scope, or asks for more than it holds (`insufficient_scope`).');

export const apiKeyRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/keys',
      tags,
      summary: 'Create an API key',
      description:
        'The key is in the response and nowhere else: store it now. `scopes` default to the caller\'s own and may not exceed ' +
        'them; a key that expires creates only keys that expire no later (and, by default, at the same time).',
      request: jsonBody(CreateApiKeyBody),
      responses: { 201: jsonContent(CreatedApiKey, 'Created.'), ...errorResponses(400, 401, 413), 403: refusedScope },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const caller = c.get('principal');
      const scopes = canonicalScopes(body.scopes ?? caller.scopes);
      assertWithinCaller(caller, scopes, 'create a key');
      const expiresAt = expiryFor(caller, body.expires_at);
      const issued = await issueApiKey();
      const [row] = await c
        .get('db')
        .insert(apiKeys)
        .values({ tenantId: caller.tenantId, name: body.name, prefix: issued.prefix, keyHash: issued.hash, scopes, expiresAt })
        .returning();
      return c.json({ ...toApiKey(row!), key: issued.key }, 201);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/keys',
      tags,
      summary: 'List API keys',
      responses: {
        200: jsonContent(z.array(ApiKey), 'Your keys, newest first (revoked and expired ones included).'),
        ...errorResponses(401, 403),
      },
    }),
    async (c) => {
      const rows = await c
        .get('db')
        .select()
        .from(apiKeys)
        .where(eq(apiKeys.tenantId, c.get('principal').tenantId))
        .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
      return c.json(rows.map(toApiKey), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/keys/{id}',
      tags,
      summary: 'Revoke an API key',
      description:
        'Takes effect at once. Revoking an already revoked key is a no-op. A key may revoke itself and keys within its own ' +
        'scopes, not a key with a scope it lacks.',
      request: { params: KeyParams },
      responses: {
        200: jsonContent(ApiKey, 'Revoked.'),
        ...errorResponses(400, 401, 404),
        403: errorContent('The calling key lacks the `manage` scope, or a scope of the key to revoke (`insufficient_scope`).'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const db = c.get('db');
      const caller = c.get('principal');
      const scope = and(eq(apiKeys.id, id), eq(apiKeys.tenantId, caller.tenantId));
      const [target] = await db.select({ scopes: apiKeys.scopes }).from(apiKeys).where(scope).limit(1);
      if (!target) throw notFound('api_key_not_found', `No API key with id ${id}.`);
      assertWithinCaller(caller, target.scopes, 'revoke a key');
      await db.update(apiKeys).set({ revokedAt: nowMs }).where(and(scope, isNull(apiKeys.revokedAt)));
      await endStreamsOf(c.env, caller.tenantId, `key:${id}`, 'API key revoked');
      const [row] = await db.select().from(apiKeys).where(scope).limit(1);
      return c.json(toApiKey(row!), 200);
    },
  );
