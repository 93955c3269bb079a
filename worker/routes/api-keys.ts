// API key management: issue (shown once), list (prefix only), revoke.
import { createRoute, z } from '@hono/zod-openapi';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { apiKeys, nowMs } from '../../drizzle/schema';
import { ApiKey, CreateApiKeyBody, CreatedApiKey } from '../../protocol/auth';
import { issueApiKey } from '../auth/credentials';
import { notFound } from '../http/errors';
import { errorResponses, jsonBody, jsonContent, newRouter } from '../http/router';

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
  };
}

export const apiKeyRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/keys',
      tags,
      summary: 'Create an API key',
      description: 'The key is in the response and nowhere else: store it now.',
      request: jsonBody(CreateApiKeyBody),
      responses: { 201: jsonContent(CreatedApiKey, 'Created.'), ...errorResponses(400, 401, 413) },
    }),
    async (c) => {
      const { name } = c.req.valid('json');
      const issued = await issueApiKey();
      const [row] = await c
        .get('db')
        .insert(apiKeys)
        .values({ tenantId: c.get('principal').tenantId, name, prefix: issued.prefix, keyHash: issued.hash })
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
      responses: { 200: jsonContent(z.array(ApiKey), 'Your keys, newest first (revoked ones included).'), ...errorResponses(401) },
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
      description: 'Takes effect at once. Revoking an already revoked key is a no-op.',
      request: { params: KeyParams },
      responses: { 200: jsonContent(ApiKey, 'Revoked.'), ...errorResponses(400, 401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const db = c.get('db');
      const scope = and(eq(apiKeys.id, id), eq(apiKeys.tenantId, c.get('principal').tenantId));
      await db.update(apiKeys).set({ revokedAt: nowMs }).where(and(scope, isNull(apiKeys.revokedAt)));
      const [row] = await db.select().from(apiKeys).where(scope).limit(1);
      if (!row) throw notFound('api_key_not_found', `No API key with id ${id}.`);
      return c.json(toApiKey(row), 200);
    },
  );
