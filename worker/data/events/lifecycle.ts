// Connection lifecycle: connection.status and qr events, folded per connection in time order over the
// connection's locked state (persistEvents' interactive path).
import { sql, type SQL } from 'drizzle-orm';
import { connections, nowMs } from '../../../drizzle/schema';
import type { QueuedEvent, RunnerEvent } from '../../../protocol/runner';
import type { ConnectionChange, ConnectionStatus } from './outcome';
import { outboxCtes } from '../outbox';
import { toMs, type Tx } from './store';

type LifecycleEvent = Extract<RunnerEvent, { type: 'connection.status' | 'qr' }>;

export interface LifecycleState {
  status: ConnectionStatus;
  statusReason: string | null;
  phoneNumber: string | null;
  statusChangedAt: Date;
  linkedAt: Date | null;
  qrRaw: string | null;
  qrExpiresAt: Date | null;
  startRequestedAt: Date | null;
}

const noQr = { qrRaw: null, qrExpiresAt: null };

/**
 * One lifecycle event applied to the stored state; events older than the state's status_changed_at are
 * skipped, so out-of-order delivery never regresses a connection.
 *
 * A QR needs no status change to be worth storing (WhatsApp rotates them every ~20 s while status stays
 * `connecting`), so QRs are ordered among themselves by `expires_at` (a later QR expires later) and
 * against status changes by `at` vs status_changed_at. A QR never lands on a connected connection.
 */
export function applyLifecycle(s: LifecycleState, e: LifecycleEvent): LifecycleState {
  const at = toMs(e.at);
  if (at.getTime() < s.statusChangedAt.getTime()) return s;
  if (e.type === 'qr') {
    if (s.status === 'connected') return s;
    const expiresAt = toMs(e.expires_at);
    if (s.qrExpiresAt && expiresAt.getTime() < s.qrExpiresAt.getTime()) return s;
    const becomesConnecting = s.status !== 'connecting';
    return {
      ...s,
      status: 'connecting',
      // A QR on screen says all there is to say (and its runner is reachable): no reason stays from before.
      statusReason: null,
      statusChangedAt: becomesConnecting ? at : s.statusChangedAt,
      qrRaw: e.qr,
      qrExpiresAt: expiresAt,
    };
  }
  const next: LifecycleState = {
    ...s,
    status: e.status,
    statusReason: e.status === 'connected' ? null : (e.reason ?? null),
    phoneNumber: e.phone_number ?? s.phoneNumber,
    statusChangedAt: at,
  };
  switch (e.status) {
    case 'connected':
      return { ...next, ...noQr, linkedAt: s.linkedAt ?? at };
    case 'logged_out':
      // The phone unlinked us and the runner deletes the auth state: the account is no longer linked,
      // so it is not restored after restarts until paired again (as markLoggedOut does for API logouts).
      return { ...next, ...noQr, linkedAt: null, startRequestedAt: null };
    case 'replaced':
      return { ...next, ...noQr };
    case 'disconnected':
      // Nobody scanned, or the server failed its certificate checks: stop running the session until
      // someone asks for a QR again (which then tries afresh).
      return e.reason === 'qr_timeout' || e.reason === 'untrusted_server' ? { ...next, ...noQr, startRequestedAt: null } : next;
    default:
      return next;
  }
}

const sameTime = (a: Date | null, b: Date | null) => (a?.getTime() ?? null) === (b?.getTime() ?? null);

export async function persistLifecycle(
  tx: Tx,
  events: readonly QueuedEvent[],
  byPk: Map<string, LifecycleState & { id: string; tenantId: string; connectionId: string }>,
): Promise<{ changes: ConnectionChange[]; deliveries: string[] }> {
  const perConnection = new Map<string, { e: LifecycleEvent; i: number }[]>();
  events.forEach(({ connection_pk: pk, event: e }, i) => {
    if (e.type !== 'connection.status' && e.type !== 'qr') return;
    const list = perConnection.get(pk) ?? [];
    list.push({ e, i });
    perConnection.set(pk, list);
  });

  const changes: ConnectionChange[] = [];
  const rows: SQL[] = [];
  for (const [pk, list] of [...perConnection].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const before = byPk.get(pk)!;
    list.sort((a, b) => toMs(a.e.at).getTime() - toMs(b.e.at).getTime() || a.i - b.i);
    const after = list.reduce((s, { e }) => applyLifecycle(s, e), before as LifecycleState);
    const statusChanged =
      after.status !== before.status ||
      after.statusReason !== before.statusReason ||
      after.phoneNumber !== before.phoneNumber ||
      !sameTime(after.statusChangedAt, before.statusChangedAt);
    const qrChanged = after.qrRaw !== before.qrRaw || !sameTime(after.qrExpiresAt, before.qrExpiresAt);
    const otherChanged = !sameTime(after.linkedAt, before.linkedAt) || !sameTime(after.startRequestedAt, before.startRequestedAt);
    if (!statusChanged && !qrChanged && !otherChanged) continue;
    rows.push(
      sql`(${pk}::uuid, ${after.status}::text, ${after.statusReason}::text, ${after.phoneNumber}::text,
        ${iso(after.statusChangedAt)}::timestamptz, ${iso(after.linkedAt)}::timestamptz, ${after.qrRaw}::text,
        ${iso(after.qrExpiresAt)}::timestamptz, ${iso(after.startRequestedAt)}::timestamptz)`,
    );
    if (statusChanged || qrChanged) {
      changes.push({
        tenantId: before.tenantId,
        connectionPk: pk,
        connectionId: before.connectionId,
        statusChanged,
        qrChanged,
        status: after.status,
        statusReason: after.statusReason,
        phoneNumber: after.phoneNumber,
        statusChangedAt: after.statusChangedAt,
        qr: after.qrRaw && after.qrExpiresAt ? { raw: after.qrRaw, expiresAt: after.qrExpiresAt } : null,
      });
    }
  }
  if (rows.length === 0) return { changes, deliveries: [] };
  // The rows are locked by this transaction and the new state was computed from what the lock guards,
  // so writing the whole lifecycle state back overwrites nothing anyone else wrote.
  await tx.execute(sql`
    update ${connections} as c set
      status = v.status, status_reason = v.status_reason, phone_number = v.phone_number,
      status_changed_at = v.status_changed_at, linked_at = v.linked_at, qr_raw = v.qr_raw,
      qr_expires_at = v.qr_expires_at, start_requested_at = v.start_requested_at, updated_at = ${nowMs}
    from (values ${sql.join(rows, sql`, `)})
      as v(id, status, status_reason, phone_number, status_changed_at, linked_at, qr_raw, qr_expires_at, start_requested_at)
    where c.id = v.id`);
  return { changes, deliveries: await writeDeliveries(tx, changes) };
}

/** connection.status and qr.updated deliveries for the changes, in the outbox (worker/data/outbox.ts). */
async function writeDeliveries(tx: Tx, changes: ConnectionChange[]): Promise<string[]> {
  const rows: SQL[] = [];
  const row = (c: ConnectionChange, type: string, key: string, data: Record<string, unknown>) =>
    sql`(${c.tenantId}::uuid, ${c.connectionPk}::uuid, ${type}::text, ${`${type}:${key}`}::text, null::bigint, ${JSON.stringify(data)}::jsonb, ${rows.length + 1}::int)`;
  for (const c of changes) {
    const at = c.statusChangedAt.toISOString();
    if (c.statusChanged) {
      rows.push(row(c, 'connection.status', `${at}:${c.status}:${c.statusReason ?? ''}`, { status: c.status, status_reason: c.statusReason, phone_number: c.phoneNumber, at }));
    }
    if (c.qrChanged && c.qr) {
      const expiresAt = c.qr.expiresAt.toISOString();
      rows.push(row(c, 'qr.updated', expiresAt, { qr_raw: c.qr.raw, expires_at: expiresAt, at: new Date().toISOString() }));
    }
  }
  if (rows.length === 0) return [];
  const result = await tx.execute(sql`
    with deliverable (tenant_id, connection_pk, event_type, event_key, message_id, data, ord) as (values ${sql.join(rows, sql`, `)})
    ${outboxCtes()}
    select id as delivery_ids from queued`);
  return (result as unknown as { rows: { delivery_ids: string }[] }).rows.map((r) => String(r.delivery_ids));
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);
