// Received media files: GET /api/media/{connection_id}/{message_id} answers the file a contact sent, as
// stored in R2 (worker/media-in/store.ts), with its content type, an ETag and byte ranges. Two ways in: a
// tenant credential with the `read` scope (the route sits behind requireTenant like every other), or a
// signed link from a webhook body (`?tenant=&expires=&signature=`, worker/media-in/links.ts), which
// `signedMediaLinks` checks before requireTenant sees the request.
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { ConnectionId } from '../../protocol/connections';
import { getConnection } from '../data/connections';
import type { AppEnv } from '../http/context';
import { ApiError, errorResponse } from '../http/errors';
import { errorContent, errorResponses, newRouter } from '../http/router';
import { verifyLink } from '../media-in/links';
import { parseRange } from '../media-in/range';
import { inboundMediaOf } from '../media-in/store';
import { httpDb } from '../data/db';

const MediaParams = z.object({
  connection_id: ConnectionId,
  message_id: z.string().min(1).max(128).meta({ description: 'The `provider_message_id` of the received message.', example: '3EB0C431C26A1916E1B5' }),
});
const binary = (description: string) => ({ description, content: { 'application/octet-stream': { schema: z.string().meta({ format: 'binary' }) } } });

async function serveMedia(c: Context<AppEnv>, tenantId: string, connectionId: string, messageId: string): Promise<Response> {
  const db = c.get('db') ?? httpDb(c.env);
  const connection = await getConnection(db, tenantId, connectionId);
  const row = (await inboundMediaOf(db, connection.id, [messageId])).get(messageId);
  if (!row?.r2Key) throw new ApiError(404, 'media_not_found', 'No stored file for this message (not a media message, or only its metadata is stored).');
  const head = await c.env.MEDIA.head(row.r2Key);
  if (!head) throw new ApiError(404, 'media_not_found', 'No stored file for this message.');
  const common: Record<string, string> = {
    etag: head.httpEtag,
    'accept-ranges': 'bytes',
    'cache-control': 'private, max-age=3600',
    'content-type': row.mimetype,
    'x-content-type-options': 'nosniff',
    // A browser saves it rather than rendering a tenant's contact's file on our origin.
    'content-disposition': `attachment${row.filename ? `; filename*=UTF-8''${encodeURIComponent(row.filename)}` : ''}`,
  };
  const inm = c.req.header('if-none-match');
  if (inm && inm.split(',').some((t) => t.trim() === head.httpEtag || t.trim() === '*')) return new Response(null, { status: 304, headers: { etag: head.httpEtag } });
  // If-Range with another ETag: the file changed since the client's first part, so it gets all of it.
  const ifRange = c.req.header('if-range');
  const range = ifRange && ifRange !== head.httpEtag ? ({ kind: 'whole' } as const) : parseRange(c.req.header('range'), head.size);
  if (range.kind === 'unsatisfiable') {
    return new Response(JSON.stringify({ error: { code: 'range_not_satisfiable', message: `The file has ${head.size} bytes.` } }), {
      status: 416,
      headers: { 'content-range': range.contentRange, 'content-type': 'application/json' },
    });
  }
  const object = await c.env.MEDIA.get(row.r2Key, range.kind === 'partial' ? { range: { offset: range.offset, length: range.length } } : {});
  if (!object) throw new ApiError(404, 'media_not_found', 'No stored file for this message.');
  if (range.kind === 'partial') {
    return new Response(object.body, { status: 206, headers: { ...common, 'content-range': range.contentRange, 'content-length': String(range.length) } });
  }
  return new Response(object.body, { status: 200, headers: { ...common, 'content-length': String(head.size) } });
}

/** Signed links (webhook bodies): checked and served here; a request without `signature` goes on to requireTenant. */
export const signedMediaLinks = createMiddleware<AppEnv>(async (c, next) => {
  const url = new URL(c.req.url);
  if (c.req.method !== 'GET' || !url.searchParams.has('signature')) return next();
  const m = /^\/api\/media\/([^/]+)\/([^/]+)$/.exec(url.pathname);
  if (!m) return next();
  const key = c.env.MEDIA_LINK_KEY;
  const target = { connectionId: decodeURIComponent(m[1]!), messageId: decodeURIComponent(m[2]!) };
  const verdict = key ? await verifyLink(key, url.searchParams, target, Math.floor(Date.now() / 1000)) : ({ ok: false, reason: 'invalid_signature' } as const);
  if (!verdict.ok) {
    return errorResponse(c, 403, verdict.reason, verdict.reason === 'link_expired' ? 'This media link has expired.' : 'This media link is not valid.');
  }
  return serveMedia(c, verdict.tenantId, target.connectionId, target.messageId);
});

export const mediaRoutes = newRouter().openapi(
  createRoute({
    method: 'get',
    path: '/media/{connection_id}/{message_id}',
    tags: ['Messages'],
    summary: 'Download a received file',
    description:
      "The file of a received image, video, audio, document or sticker (a message's `media.url`), with its content type and an ETag " +
      '(`If-None-Match` → 304). One byte range per request (`Range: bytes=0-1023` → 206 with `Content-Range`; past the end → 416). ' +
      'Webhook bodies carry a signed link to the same path instead, valid without an API key until it expires; a tampered or ' +
      'expired link is refused with 403 (`invalid_signature`, `link_expired`).',
    request: { params: MediaParams },
    responses: {
      200: binary('The file.'),
      206: binary('The range asked for.'),
      304: { description: 'Not modified (the ETag matched).' },
      ...errorResponses(400, 401, 404),
      416: errorContent('The range starts past the end of the file (`Content-Range: bytes */<size>`).'),
    },
  }),
  (async (c: Context<AppEnv>) => {
    const { connection_id, message_id } = (c.req as unknown as { valid(t: 'param'): z.infer<typeof MediaParams> }).valid('param');
    return serveMedia(c, c.get('principal').tenantId, connection_id, message_id);
  }) as never,
);
