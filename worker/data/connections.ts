// Tenant-scoped reads and writes of connections. Every query names the tenant, so no caller can reach
// another tenant's connection by its connection_id.
import { and, desc, eq, sql } from 'drizzle-orm';
import { connections, nowMs } from '../../drizzle/schema';
import type { Connection } from '../../protocol/connections';
import { connectionNotFound } from '../http/errors';
import type { Db } from './db';
import { olderThan, type Cursor } from './pagination';
import { START_REQUEST_TTL_MINUTES } from '../scheduler/desired';
import { connectionQuotaExceeded, tenantLimit, unlinkedSessionQuotaExceeded } from '../limits/quotas';

export type ConnectionRow = typeof connections.$inferSelect;

export function toConnection(row: ConnectionRow): Connection {
  return {
    connection_id: row.connectionId,
    status: row.status,
    status_reason: row.statusReason,
    phone_number: row.phoneNumber,
    webhook_url: row.webhookUrl,
    webhook_events: row.webhookEvents as Connection['webhook_events'],
    calls: { reject: row.callReject, message: row.callRejectMessage },
    status_changed_at: row.statusChangedAt.toISOString(),
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export async function findConnection(db: Db, tenantId: string, connectionId: string): Promise<ConnectionRow | undefined> {
  const [row] = await db
    .select()
    .from(connections)
    .where(and(eq(connections.tenantId, tenantId), eq(connections.connectionId, connectionId)))
    .limit(1);
  return row;
}

/** Like findConnection, but a missing connection is the API's 404. */
export async function getConnection(db: Db, tenantId: string, connectionId: string): Promise<ConnectionRow> {
  const row = await findConnection(db, tenantId, connectionId);
  if (!row) throw connectionNotFound(connectionId);
  return row;
}

/**
 * Inserts a connection unless the tenant has its quota of them (`maxConnections`, or its tenant_limits
 * override): 403 connection_quota_exceeded. Returns undefined when the tenant already has one with this id.
 */
export async function insertConnection(
  db: Db,
  values: { id?: string; tenantId: string; connectionId: string; webhookUrl: string | null; webhookSecret: string },
  maxConnections: number,
): Promise<ConnectionRow | undefined> {
  const result = await db.execute<{ id: string | null; used: string | number; max: string | number }>(sql`
    with quota as (
      select (select count(*) from ${connections} where tenant_id = ${values.tenantId}) as used,
             ${tenantLimit(values.tenantId, 'max_connections', maxConnections)} as max
    ), inserted as (
      insert into ${connections} (id, tenant_id, connection_id, webhook_url, webhook_secret)
      select coalesce(${values.id ?? null}::uuid, gen_random_uuid()), ${values.tenantId}, ${values.connectionId}, ${values.webhookUrl}, ${values.webhookSecret}
      from quota where used < max
      on conflict (tenant_id, connection_id) do nothing
      returning id
    )
    select (select id from inserted) as id, used, max from quota`);
  const { id, used, max } = result.rows[0]!;
  if (id === null) {
    if (Number(used) >= Number(max) && !(await findConnection(db, values.tenantId, values.connectionId))) throw connectionQuotaExceeded(Number(max));
    return undefined;
  }
  const [row] = await db.select().from(connections).where(eq(connections.id, id)).limit(1);
  return row;
}

export async function listConnections(
  db: Db,
  tenantId: string,
  limit: number,
  before?: Cursor,
): Promise<ConnectionRow[]> {
  const scope = eq(connections.tenantId, tenantId);
  return db
    .select()
    .from(connections)
    .where(before ? and(scope, olderThan(connections.createdAt, connections.id, before)) : scope)
    .orderBy(desc(connections.createdAt), desc(connections.id))
    .limit(limit);
}

/** Sets (or with null removes) the webhook URL and, when given, the subscribed event types. */
export async function setWebhook(db: Db, tenantId: string, connectionId: string, webhookUrl: string | null, events?: string[]) {
  const [row] = await db
    .update(connections)
    .set({ webhookUrl, ...(events ? { webhookEvents: events } : {}), updatedAt: nowMs })
    .where(and(eq(connections.tenantId, tenantId), eq(connections.connectionId, connectionId)))
    .returning();
  if (!row) throw connectionNotFound(connectionId);
  return row;
}

/** Sets the connection's call policy; a policy without `reject` keeps no message. */
export async function setCallPolicy(db: Db, tenantId: string, connectionId: string, policy: { reject: boolean; message?: string | null }) {
  const [row] = await db
    .update(connections)
    .set({ callReject: policy.reject, callRejectMessage: policy.reject ? (policy.message ?? null) : null, updatedAt: nowMs })
    .where(and(eq(connections.tenantId, tenantId), eq(connections.connectionId, connectionId)))
    .returning();
  if (!row) throw connectionNotFound(connectionId);
  return row;
}

/** How long deliveries are still signed with the secret a rotation replaced. */
export const PREVIOUS_SECRET_GRACE_MS = 24 * 60 * 60 * 1000;

/** A new (sealed) webhook secret; the one it replaces stays valid (deliveries carry both signatures) for a day. */
export async function rotateWebhookSecret(db: Db, tenantId: string, connectionId: string, secret: string): Promise<ConnectionRow> {
  const [row] = await db
    .update(connections)
    .set({
      previousWebhookSecret: connections.webhookSecret,
      previousWebhookSecretExpiresAt: sql`${nowMs} + make_interval(secs => ${PREVIOUS_SECRET_GRACE_MS / 1000})`,
      webhookSecret: secret,
      updatedAt: nowMs,
    })
    .where(and(eq(connections.tenantId, tenantId), eq(connections.connectionId, connectionId)))
    .returning();
  if (!row) throw connectionNotFound(connectionId);
  return row;
}

export async function deleteConnection(db: Db, tenantId: string, connectionId: string): Promise<ConnectionRow> {
  const [row] = await db
    .delete(connections)
    .where(and(eq(connections.tenantId, tenantId), eq(connections.connectionId, connectionId)))
    .returning();
  if (!row) throw connectionNotFound(connectionId);
  return row;
}

/** Running and unlinked, as the Scheduler sees it (scheduler/desired.ts): a session waiting for a QR scan or pairing code. */
const runsUnlinked = (table: string) => {
  const t = sql.identifier(table);
  return sql`(
    ${t}.linked_at is null and ${t}.status not in ('logged_out', 'replaced')
    and ${t}.start_requested_at > now() - make_interval(mins => ${START_REQUEST_TTL_MINUTES})
  )`;
};

/**
 * Asks for the session to run (QR, pairing code, restart): an unlinked connection runs for a while after
 * such a request. A logged-out or replaced connection starts over from `disconnected`. Starting one more
 * unlinked session than the tenant's quota (`maxUnlinkedSessions`, or its override) allows is refused
 * (429 unlinked_session_quota_exceeded): each runs a WhatsApp socket on the shared runners. A linked
 * connection, or an unlinked one already running (asked again for its QR), is never refused.
 */
export async function requestStart(db: Db, tenantId: string, connectionId: string, maxUnlinkedSessions: number): Promise<ConnectionRow> {
  const max = tenantLimit(tenantId, 'max_unlinked_sessions', maxUnlinkedSessions);
  const [row] = await db
    .update(connections)
    .set({
      startRequestedAt: nowMs,
      status: sql`case when ${connections.status} in ('logged_out', 'replaced') then 'disconnected' else ${connections.status} end`,
      statusReason: sql`case when ${connections.status} in ('logged_out', 'replaced') then null else ${connections.statusReason} end`,
      statusChangedAt: sql`case when ${connections.status} in ('logged_out', 'replaced') then ${nowMs} else ${connections.statusChangedAt} end`,
      updatedAt: nowMs,
    })
    .where(
      and(
        eq(connections.tenantId, tenantId),
        eq(connections.connectionId, connectionId),
        sql`(${connections.linkedAt} is not null or ${runsUnlinked('connections')}
             or (select count(*) from ${connections} as other where other.tenant_id = ${tenantId} and other.id <> ${connections.id} and ${runsUnlinked('other')}) < ${max})`,
      ),
    )
    .returning();
  if (row) return row;
  await getConnection(db, tenantId, connectionId); // 404 when there is no such connection
  const [quota] = await db.execute<{ max: number | string }>(sql`select ${max} as max`).then((r) => r.rows);
  throw unlinkedSessionQuotaExceeded(Number(quota!.max));
}

/**
 * Stops a connection for good (logout, or the first step of a delete): logged out, not restored, and its
 * lease fenced. The epoch moves past the holder's, so that whatever the old holder still flushes (a
 * late auth-state write) is refused as stale and cannot re-create the state removed next.
 */
export async function markLoggedOut(db: Db, connectionPk: string, reason: 'logout_requested' | 'delete_requested' = 'logout_requested'): Promise<void> {
  await db
    .update(connections)
    .set({
      status: 'logged_out',
      statusReason: reason,
      linkedAt: null,
      startRequestedAt: null,
      qrRaw: null,
      qrExpiresAt: null,
      leaseEpoch: sql`${connections.leaseEpoch} + 1`,
      leaseRunnerId: null,
      statusChangedAt: nowMs,
      updatedAt: nowMs,
    })
    .where(eq(connections.id, connectionPk));
}
