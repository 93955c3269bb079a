// Outbound messages as the send path records them: a row is written before the runner is asked to send,
// so a retried request (same client_message_id) finds it and never sends twice.
import { and, eq, inArray, sql } from 'drizzle-orm';
import { apiKeys, connections, messages, nowMs } from '../../drizzle/schema';
import type { ApiKeyScope } from '../../protocol/auth';
import { hmacSha256, sha256Hex, toHex } from '../auth/credentials';
import { scopesNeeded, type KeyRefusal, type RouteScope } from '../auth/scopes';
import { ApiError } from '../http/errors';
import type { Db } from './db';
import type { ConnectionRow } from './connections';
import type { MessageRow } from './messages';
import { toMessageRow } from './message-row';
import { deliveryIdsColumn, deliveryIdsOf, outboxCtes } from './outbox';
import { tenantLimit } from '../limits/quotas';

/** States from which a retry may (re)send: nothing is known to have reached WhatsApp. */
export const RESENDABLE = ['pending', 'unknown', 'failed'] as const;

/**
 * The WhatsApp message id to send under. With a client_message_id it is derived from it, so every retry
 * (even after a lost row) sends the same id and WhatsApp sees a duplicate, not a new message. The
 * derivation is an HMAC under a server secret (MESSAGE_ID_SECRET): a plain hash of the two ids could be
 * computed by anyone, and a contact who sent a message under that id first would make the real send look
 * done. (Unique where it must be: per sending account, and rows per connection.)
 */
export async function providerIdFor(secret: string | undefined, connectionId: string, clientMessageId: string | undefined): Promise<string> {
  if (!clientMessageId) return `3EB0${(await sha256Hex(crypto.randomUUID())).slice(0, 20).toUpperCase()}`;
  if (!secret) throw new ApiError(500, 'server_misconfigured', 'MESSAGE_ID_SECRET is not set on this deployment; sends with a client_message_id need it.');
  const mac = await hmacSha256(secret, `${connectionId}:${clientMessageId}`);
  return `3EB0${toHex(mac.subarray(0, 10)).toUpperCase()}`;
}

/**
 * What a send asked for, as a hash: a retry with the same client_message_id must ask for the same thing
 * (recipient, text, file), else it is a reused id, not a retry. A file counts by its bytes' hash (base64)
 * or its URL.
 */
export async function requestHashOf(req: {
  to: string;
  message?: string;
  media?: Record<string, unknown>;
  mediaSha256?: string;
  /** The other kinds and options (location, poll, reply_to, …); absent for a seed text or a file, whose hash stays as it was. */
  extras?: Record<string, unknown>;
}): Promise<string> {
  const media = req.media
    ? Object.fromEntries(
        Object.entries({ ...req.media, base64: undefined, sha256: req.mediaSha256 })
          .filter(([, v]) => v !== undefined)
          .sort(([a], [b]) => a.localeCompare(b)),
      )
    : null;
  const asked: unknown[] = [req.to, req.message ?? null, media];
  if (req.extras) asked.push(canonical(req.extras));
  return sha256Hex(JSON.stringify(asked));
}

/** Objects with their keys sorted (at any depth), so the same request written in another key order hashes the same. */
const canonical = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(canonical)
    : typeof v === 'object' && v !== null
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, canonical(x)]))
      : v;

/**
 * Whose connection the send names: a tenant already authenticated, or an API key not yet checked. The
 * send path checks the key inside its own statement (one round trip less on the hottest route), with the
 * rules `requireTenant` applies everywhere else: not revoked, not expired, holding the route's scope
 * (`requiredScope`, auth/scopes.ts). A key that fails them matches no tenant, so nothing is read or
 * written, and the statement says why (`refusal`) for the caller to answer as the middleware would.
 */
export type TenantScope = { tenantId: string } | { apiKeyHash: string; requiredScope: RouteScope | undefined };

const textArray = (values: readonly string[]) =>
  values.length ? sql`array[${sql.join(values.map((v) => sql`${v}`), sql`, `)}]::text[]` : sql`'{}'::text[]`;

/** The `tenant` CTE: one row, `id` (null when refused), `refusal` (null when accepted), and the key's `scopes` and `expires_at` to say why. */
const tenantCte = (scope: TenantScope) =>
  'tenantId' in scope
    ? sql`tenant as (select ${scope.tenantId}::uuid as id, null::text as refusal, null::text[] as scopes, null::timestamptz as expires_at)`
    : sql`tenant as (
        select case when k.refusal is null then k.tenant_id end as id,
               case when k.tenant_id is null then 'invalid_api_key' else k.refusal end as refusal, k.scopes, k.expires_at
        from (select 1) one left join lateral (
          select tenant_id, scopes, expires_at,
                 case when expires_at <= now() then 'api_key_expired'
                      when not (scopes @> ${textArray(scopesNeeded(scope.requiredScope))}) then 'insufficient_scope' end as refusal
          from ${apiKeys} where key_hash = ${scope.apiKeyHash} and revoked_at is null
        ) k on true
      )`;

/** With a key scope, the key's last_used_at is kept to the minute, as the auth middleware does (accepted keys only). */
const touchKey = (scope: TenantScope) =>
  'apiKeyHash' in scope
    ? sql`touched as (
        update ${apiKeys} set last_used_at = now()
        where key_hash = ${scope.apiKeyHash} and revoked_at is null
          and (expires_at is null or expires_at > now()) and scopes @> ${textArray(scopesNeeded(scope.requiredScope))}
          and (last_used_at is null or last_used_at < now() - interval '1 minute')
        returning 1
      ),`
    : sql``;

export interface OutboundDraft {
  scope: TenantScope;
  connectionId: string;
  chatId: string;
  toJid: string;
  type: string;
  text: string | null;
  content?: unknown;
  /** What it quotes (a provider_message_id) and the JIDs it mentions. */
  replyTo?: string;
  mentions?: string[];
  /** The WhatsApp message it goes out as, when known beforehand (a forward): what quoting it later sends. */
  proto?: unknown;
  clientMessageId?: string;
  providerMessageId: string;
  /** requestHashOf the request (with a client_message_id). */
  requestHash?: string;
  /** The Worker's sends per minute per tenant (TENANT_SENDS_PER_MINUTE): answered as the tenant's own, its override if it has one. */
  sendsPerMinute: number;
}

export interface OpenedOutbound {
  /** Set when the scope's API key may not make this send (then nothing else is set). */
  refused?: RefusedKey;
  /** Absent when the tenant has no such connection. */
  connection?: { pk: string; tenantId: string; status: ConnectionRow['status']; statusReason: string | null; sendsPerMinute: number };
  /** The outbound row: just recorded, or recorded by an earlier attempt. Absent when nothing was recorded (not connected). */
  message?: {
    id: number;
    status: MessageRow['status'];
    providerMessageId: string;
    /** Present when an earlier attempt recorded the row: how long ago it last changed. */
    earlierAgeMs?: number;
    /** The request hash the row was recorded with (null for rows from before hashes were kept). */
    requestHash: string | null;
  };
}

/** Why the statement refused a key, with what the key holds (nothing, for an unknown key) to say so. */
export interface RefusedKey {
  reason: KeyRefusal;
  scopes: ApiKeyScope[];
  expiresAt: Date | null;
}

type LookupRow = {
  key_tenant: string | null;
  key_refusal: KeyRefusal | null;
  key_scopes: ApiKeyScope[] | null;
  key_expires_at: string | Date | null;
  connection_pk: string | null;
  connection_status: ConnectionRow['status'];
  connection_status_reason: string | null;
  message_id: string | null;
  message_status: MessageRow['status'] | null;
  /** Set when the row is an earlier attempt's (not inserted by this call): how long ago it last changed. */
  earlier_age_ms: string | number | null;
  provider_message_id: string | null;
  request_hash: string | null;
  sends_per_minute: number | string;
};

/** The tenant's sends per minute (its tenant_limits override, else the Worker's), read in the send statement: no round trip of its own. */
const sendsPerMinuteOf = (d: Pick<OutboundDraft, 'sendsPerMinute'>) => tenantLimit(sql`tenant.id`, 'sends_per_minute', d.sendsPerMinute);

/**
 * Joins, as `earlier`, the row a previous attempt of this send recorded (same provider or client id), if
 * any. Outbound rows only: a message that arrived under the same id is never taken for our own send.
 */
const earlierAttempt = (d: Pick<OutboundDraft, 'clientMessageId' | 'providerMessageId'>) => sql`
  left join lateral (
    select id, status, provider_message_id, request_hash, extract(epoch from (now() - m.updated_at)) * 1000 as age_ms from ${messages} m
    where m.connection_pk = conn.id and m.direction = 'outbound'
      and (m.provider_message_id = ${d.providerMessageId} or m.client_message_id = ${d.clientMessageId ?? null})
    limit 1
  ) earlier on true`;

/**
 * The send path's database work in one round trip: (checks the API key,) finds the tenant's connection
 * and, when it is connected, records the outbound row (`pending`) unless an earlier attempt with the same
 * id did; answers the connection and whichever row now stands.
 */
export async function openOutbound(db: Db, d: OutboundDraft): Promise<OpenedOutbound> {
  const result = await db.execute<LookupRow>(sql`
    with ${touchKey(d.scope)} ${tenantCte(d.scope)},
    conn as (
      select c.id, c.status, c.status_reason from ${connections} c, tenant
      where c.tenant_id = tenant.id and c.connection_id = ${d.connectionId}
    ), inserted as (
      insert into ${messages} (connection_pk, chat_id, direction, to_jid, type, text, content, reply_to, mentions, proto, client_message_id, provider_message_id, request_hash, status)
      select id, ${d.chatId}, 'outbound', ${d.toJid}, ${d.type}, ${d.text}, ${d.content === undefined || d.content === null ? null : JSON.stringify(d.content)}::jsonb,
             ${d.replyTo ?? null}, ${d.mentions ? JSON.stringify(d.mentions) : null}::jsonb, ${d.proto === undefined ? null : JSON.stringify(d.proto)}::jsonb,
             ${d.clientMessageId ?? null}, ${d.providerMessageId}, ${d.requestHash ?? null}, 'pending'
      from conn where status = 'connected'
      on conflict do nothing
      returning id, status, provider_message_id, request_hash
    )
    select tenant.id as key_tenant, tenant.refusal as key_refusal, tenant.scopes as key_scopes, tenant.expires_at as key_expires_at, conn.id as connection_pk, conn.status as connection_status, conn.status_reason as connection_status_reason,
           coalesce(inserted.id, earlier.id) as message_id, coalesce(inserted.status, earlier.status) as message_status,
           case when inserted.id is null then earlier.age_ms end as earlier_age_ms,
           coalesce(inserted.provider_message_id, earlier.provider_message_id) as provider_message_id,
           case when inserted.id is null then earlier.request_hash else inserted.request_hash end as request_hash,
           ${sendsPerMinuteOf(d)} as sends_per_minute
    from tenant
    left join conn on true
    left join inserted on true
    ${earlierAttempt(d)}
  `);
  return opened(result.rows[0]!, d.providerMessageId);
}

/**
 * The lookup half of openOutbound, without recording anything: the connection and the row an earlier
 * attempt with the same id recorded, if any. The media path asks this first, so a retry of a send that
 * already went out neither fetches nor stores its file again.
 */
export async function findOutbound(
  db: Db,
  d: Pick<OutboundDraft, 'scope' | 'connectionId' | 'clientMessageId' | 'providerMessageId' | 'sendsPerMinute'>,
): Promise<OpenedOutbound> {
  const result = await db.execute<LookupRow>(sql`
    with ${touchKey(d.scope)} ${tenantCte(d.scope)},
    conn as (
      select c.id, c.status, c.status_reason from ${connections} c, tenant
      where c.tenant_id = tenant.id and c.connection_id = ${d.connectionId}
    )
    select tenant.id as key_tenant, tenant.refusal as key_refusal, tenant.scopes as key_scopes, tenant.expires_at as key_expires_at, conn.id as connection_pk, conn.status as connection_status, conn.status_reason as connection_status_reason,
           earlier.id as message_id, earlier.status as message_status, earlier.age_ms as earlier_age_ms, earlier.provider_message_id,
           earlier.request_hash, ${sendsPerMinuteOf(d)} as sends_per_minute
    from tenant
    left join conn on true
    ${earlierAttempt(d)}
  `);
  return opened(result.rows[0]!, d.providerMessageId);
}

function opened(row: LookupRow, providerMessageId: string): OpenedOutbound {
  if (row.key_tenant === null) {
    const expiresAt = row.key_expires_at === null ? null : new Date(row.key_expires_at);
    return { refused: { reason: row.key_refusal ?? 'invalid_api_key', scopes: row.key_scopes ?? [], expiresAt } };
  }
  if (row.connection_pk === null) return {};
  return {
    connection: {
      pk: row.connection_pk,
      tenantId: row.key_tenant,
      status: row.connection_status,
      statusReason: row.connection_status_reason,
      sendsPerMinute: Number(row.sends_per_minute),
    },
    message:
      row.message_id === null
        ? undefined
        : {
            id: Number(row.message_id),
            status: row.message_status!,
            providerMessageId: row.provider_message_id ?? providerMessageId,
            requestHash: row.request_hash,
            ...(row.earlier_age_ms === null ? {} : { earlierAgeMs: Number(row.earlier_age_ms) }),
          },
  };
}

/**
 * The last part of a statement whose `moved` CTE updated one message and whose outbox CTEs wrote its
 * deliveries: the row as it is now, its tenant, and the deliveries' ids (read by movedOutcome).
 */
export const SELECT_MOVED = sql`select to_jsonb(moved.*) as row, c.tenant_id, ${deliveryIdsColumn(sql`moved.id`)}
    from moved join ${connections} c on c.id = moved.connection_pk`;

/** What a statement ending in SELECT_MOVED answered: the row when it moved one, and the deliveries made. */
export function movedOutcome(rows: Record<string, unknown>[]): { row: MessageRow | undefined; tenantId: string | undefined; deliveries: string[] } {
  const r = rows[0];
  return {
    row: r ? toMessageRow(r.row as Record<string, unknown>) : undefined,
    tenantId: r ? String(r.tenant_id) : undefined,
    deliveries: deliveryIdsOf(rows),
  };
}

/**
 * The send went out (WhatsApp acknowledged it): the row becomes `sent` unless receipts moved it on already,
 * and in the same statement its message.sent and message.status deliveries join the webhook outbox
 * (data/outbox.ts). Whichever of this and the server-ack receipt moves the row first tells it; the other
 * finds nothing to move. Answers the row when this moved it, and the deliveries made.
 * WhatsApp's timestamp (whole seconds) only ever moves sent_at later, never before the row was written:
 * lowered, it would put this message behind the one sent just before it in the same second, whenever
 * that one's receipt moved it first and so kept its millisecond sent_at.
 */
export async function markSent(db: Db, id: number, sentAt?: Date): Promise<{ row?: MessageRow; tenantId?: string; deliveries: string[] }> {
  const result = await db.execute<Record<string, unknown>>(sql`
    with moved as (
      update ${messages} m set status = 'sent', error = null, sent_at = greatest(${sentAt?.toISOString() ?? null}::timestamptz, m.sent_at), updated_at = ${nowMs}
      where m.id = ${id} and m.status in (${sql.join(RESENDABLE.map((s) => sql`${s}`), sql`, `)})
      returning m.*
    ),
    deliverable as (
      select c.tenant_id, m.connection_pk, e.event_type, e.event_type || ':' || m.id || e.suffix as event_key, m.id as message_id, e.data, e.ord
      from moved m join ${connections} c on c.id = m.connection_pk
      cross join (values ('message.sent', '', null::jsonb, 1), ('message.status', ':sent', jsonb_build_object('status', 'sent', 'at', now()::text), 2))
        as e(event_type, suffix, data, ord)
    )${outboxCtes()}
    ${SELECT_MOVED}`);
  return movedOutcome(result.rows);
}

export async function markOutbound(db: Db, id: number, status: 'unknown' | 'failed', extra: { error?: string } = {}) {
  await db
    .update(messages)
    .set({ status, error: extra.error ?? null, updatedAt: nowMs })
    // Receipts may already have moved it on (delivered/read): never move a status back.
    .where(and(eq(messages.id, id), inArray(messages.status, [...RESENDABLE])));
}

/**
 * The message went to another JID than the one asked for (WhatsApp has the number under another form,
 * e.g. without Brazil's ninth digit): its row joins that chat, where the replies will arrive.
 */
export async function moveOutboundChat(db: Db, id: number, jid: string) {
  await db.update(messages).set({ chatId: jid, toJid: jid, updatedAt: nowMs }).where(eq(messages.id, id));
}

export const isResendable = (status: string) => (RESENDABLE as readonly string[]).includes(status);
