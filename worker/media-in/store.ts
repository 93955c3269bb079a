// Received media files: where they live in R2, the tenant's size limit, the rows that describe them, and
// what a stored message shows of them (`media` on Message). The runner downloads each file as it arrives
// (runner/media-in.ts) and streams it to /internal/media-in; the Worker streams it on into R2 (MEDIA bucket)
// under `inbound/<tenant>/<connection_pk>/<message id, hashed>`: scoped by tenant and connection, so a key
// can only be reached through a connection the caller owns, and R2 checks the bytes against the SHA-256
// WhatsApp's message states before it keeps them.
import { and, eq, inArray, sql } from 'drizzle-orm';
import { inboundMedia, tenantLimits } from '../../drizzle/schema';
import type { Message } from '../../protocol/messages';
import type { Db } from '../data/db';
import type { Env } from '../env';
import { signLink } from './links';
import { mediaPath, toMediaView, type InboundMediaRow } from './view';

export { mediaPath, toMediaView, type InboundMediaRow };

/** Cloudflare refuses request bodies over 100 MB; a file must fit in one upload with room to spare. */
export const MEDIA_IN_CEILING_BYTES = 95 * 1024 * 1024;
export const DEFAULT_MEDIA_IN_MAX_BYTES = 64 * 1024 * 1024;
const DEFAULT_LINK_TTL_SECONDS = 86_400;

/** Message types whose file the runner downloads (runner/media-in.ts). */
export const MEDIA_TYPES: ReadonlySet<string> = new Set(['image', 'video', 'audio', 'document', 'sticker']);


/** The Worker's default limit (MEDIA_IN_MAX_BYTES), never above the ceiling. */
export function defaultMediaInMaxBytes(env: Pick<Env, 'MEDIA_IN_MAX_BYTES'>): number {
  const n = Number(env.MEDIA_IN_MAX_BYTES);
  return Math.min(Number.isSafeInteger(n) && n >= 0 && env.MEDIA_IN_MAX_BYTES ? n : DEFAULT_MEDIA_IN_MAX_BYTES, MEDIA_IN_CEILING_BYTES);
}

/** The tenant's limit: its tenant_limits override, else the Worker's default; both under the ceiling. */
export async function mediaInMaxBytes(db: Db, env: Env, tenantId: string): Promise<number> {
  const [row] = await db.select({ max: tenantLimits.mediaInMaxBytes }).from(tenantLimits).where(eq(tenantLimits.tenantId, tenantId));
  return row?.max == null ? defaultMediaInMaxBytes(env) : Math.min(Number(row.max), MEDIA_IN_CEILING_BYTES);
}

const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');

/** The object key: WhatsApp ids are free text, so the key names a hash of it. */
export async function inboundMediaKey(tenantId: string, connectionPk: string, messageId: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(messageId));
  return `${inboundMediaPrefix(tenantId, connectionPk)}${hex(digest)}`;
}

export const inboundMediaPrefix = (tenantId: string, connectionPk: string) => `inbound/${tenantId}/${connectionPk}/`;

/** Deletes every received file of a connection (its rows go with the connection's). */
export async function removeInboundMedia(bucket: R2Bucket, tenantId: string, connectionPk: string): Promise<void> {
  const prefix = inboundMediaPrefix(tenantId, connectionPk);
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 });
    if (page.objects.length) await bucket.delete(page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
}

export async function recordInboundMedia(db: Db, row: typeof inboundMedia.$inferInsert): Promise<void> {
  await db
    .insert(inboundMedia)
    .values(row)
    .onConflictDoUpdate({
      target: [inboundMedia.connectionPk, inboundMedia.providerMessageId],
      // A redelivery that failed does not undo one that stored the file.
      set: {
        mimetype: row.mimetype,
        size: row.size,
        filename: row.filename ?? null,
        sha256: row.sha256,
        r2Key: sql`coalesce(excluded.r2_key, ${inboundMedia.r2Key})`,
        reason: sql`case when coalesce(excluded.r2_key, ${inboundMedia.r2Key}) is null then excluded.reason end`,
      },
    });
}

export async function inboundMediaOf(db: Db, connectionPk: string, messageIds: string[]): Promise<Map<string, InboundMediaRow>> {
  const ids = [...new Set(messageIds)];
  if (!ids.length) return new Map();
  const rows = await db
    .select()
    .from(inboundMedia)
    .where(and(eq(inboundMedia.connectionPk, connectionPk), inArray(inboundMedia.providerMessageId, ids)));
  return new Map(rows.map((r) => [r.providerMessageId, r]));
}

/** Fills `media` on messages of one connection. */
export async function withMedia(db: Db, connectionPk: string, connectionId: string, list: Message[]): Promise<Message[]> {
  const inbound = list.filter((m) => m.direction === 'inbound' && m.provider_message_id);
  const rows = await inboundMediaOf(db, connectionPk, inbound.map((m) => m.provider_message_id!));
  for (const m of list) {
    const row = m.provider_message_id ? rows.get(m.provider_message_id) : undefined;
    if (row && m.direction === 'inbound') m.media = toMediaView(row, connectionId);
  }
  return list;
}

/** For webhook bodies: the URL signed for `origin`, valid MEDIA_LINK_TTL_SECONDS (none without MEDIA_LINK_KEY). */
export async function signedMediaUrl(env: Env, origin: string, tenantId: string, connectionId: string, messageId: string, now = Date.now()): Promise<string | null> {
  if (!env.MEDIA_LINK_KEY) return null;
  const ttl = Number(env.MEDIA_LINK_TTL_SECONDS) || DEFAULT_LINK_TTL_SECONDS;
  const expires = Math.floor(now / 1000) + ttl;
  const query = await signLink(env.MEDIA_LINK_KEY, { tenantId, connectionId, messageId }, expires);
  return `${origin.replace(/\/+$/, '')}${mediaPath(connectionId, messageId)}?${query}`;
}

/** The stored media of received messages, keyed `connection_pk\nprovider_message_id`. */
export async function receivedMediaByKey(db: Db, rows: { connectionPk: string; providerMessageId: string | null; direction: string }[]): Promise<Map<string, InboundMediaRow>> {
  const byConnection = new Map<string, string[]>();
  for (const r of rows) {
    if (r.direction !== 'inbound' || !r.providerMessageId) continue;
    byConnection.set(r.connectionPk, [...(byConnection.get(r.connectionPk) ?? []), r.providerMessageId]);
  }
  const out = new Map<string, InboundMediaRow>();
  for (const [pk, ids] of byConnection) for (const [id, row] of await inboundMediaOf(db, pk, ids)) out.set(`${pk}\n${id}`, row);
  return out;
}
