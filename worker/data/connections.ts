// Tenant-scoped reads and writes of connections. Every query names the tenant, so no caller can reach
// another tenant's connection by its connection_id.
import { and, desc, eq, sql } from 'drizzle-orm';
import { connections, nowMs } from '../../drizzle/schema';
import type { Connection } from '../../protocol/connections';
import { connectionNotFound } from '../http/errors';
import type { Db } from './db';
import { olderThan, type Cursor } from './pagination';

export type ConnectionRow = typeof connections.$inferSelect;

export function toConnection(row: ConnectionRow): Connection {
  return {
    connection_id: row.connectionId,
    status: row.status,
    status_reason: row.statusReason,
    phone_number: row.phoneNumber,
    webhook_url: row.webhookUrl,
    webhook_events: row.webhookEvents as Connection['webhook_events'],
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

/** Inserts a connection; returns undefined when the tenant already has one with this id. */
export async function insertConnection(
  db: Db,
  values: { tenantId: string; connectionId: string; webhookUrl: string | null; webhookSecret: string },
): Promise<ConnectionRow | undefined> {
  const [row] = await db
    .insert(connections)
    .values(values)
    .onConflictDoNothing({ target: [connections.tenantId, connections.connectionId] })
    .returning();
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

/** How long deliveries are still signed with the secret a rotation replaced. */
export const PREVIOUS_SECRET_GRACE_MS = 24 * 60 * 60 * 1000;

/** A new webhook secret; the one it replaces stays valid (deliveries carry both signatures) for a day. */
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

/**
 * Asks for the session to run (QR, pairing code, restart): an unlinked connection runs for a while after
 * such a request. A logged-out or replaced connection starts over from `disconnected`.
 */
export async function requestStart(db: Db, tenantId: string, connectionId: string): Promise<ConnectionRow> {
  const [row] = await db
    .update(connections)
    .set({
      startRequestedAt: nowMs,
      status: sql`case when ${connections.status} in ('logged_out', 'replaced') then 'disconnected' else ${connections.status} end`,
      statusReason: sql`case when ${connections.status} in ('logged_out', 'replaced') then null else ${connections.statusReason} end`,
      statusChangedAt: sql`case when ${connections.status} in ('logged_out', 'replaced') then ${nowMs} else ${connections.statusChangedAt} end`,
      updatedAt: nowMs,
    })
    .where(and(eq(connections.tenantId, tenantId), eq(connections.connectionId, connectionId)))
    .returning();
  if (!row) throw connectionNotFound(connectionId);
  return row;
}

/** Marks a connection logged out when no runner holds it (the runner reports it itself otherwise). */
export async function markLoggedOut(db: Db, connectionPk: string): Promise<void> {
  await db
    .update(connections)
    .set({
      status: 'logged_out',
      statusReason: 'logout_requested',
      linkedAt: null,
      startRequestedAt: null,
      qrRaw: null,
      qrExpiresAt: null,
      statusChangedAt: nowMs,
      updatedAt: nowMs,
    })
    .where(eq(connections.id, connectionPk));
}
