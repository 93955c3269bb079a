// The webhook outbox's rows as the delivery machinery reads and moves them (worker/webhooks/): claim one
// for an attempt, record what the attempt did (with its log row, in the same statement), find the ones the
// queue lost, and put the dead or failed ones back for a replay.
import { sql } from 'drizzle-orm';
import { connections, messages, nowMs, webhookDeliveries, webhookLogs } from '../../drizzle/schema';
import type { Db } from './db';
import type { MessageRow } from './events';
import { toMessageRow } from './message-row';

type DeliveryState = (typeof webhookDeliveries.$inferSelect)['state'];

/** A delivery claimed for one attempt, with what the attempt needs of its connection and message. */
export interface ClaimedDelivery {
  id: string;
  tenantId: string;
  connectionPk: string;
  connectionId: string;
  eventType: string;
  data: Record<string, unknown> | null;
  sequence: number;
  payload: string | null;
  /** This attempt's number, in all and in this round (since the last replay). */
  attempt: number;
  roundAttempt: number;
  webhookUrl: string | null;
  /** The current secret first, then the previous one while it is still honoured; as stored (sealed: webhooks/secrets.ts). */
  storedSecrets: string[];
  message: MessageRow | null;
}

/** How long an attempt holds its row: longer than the request's timeout, so a duplicate cannot overlap it. */
export const CLAIM_SECONDS = 60;
/** A queue message may arrive a little before the time the row names (clocks); earlier than that it is a duplicate. */
const EARLY_SECONDS = 2;

/**
 * Claims deliveries for an attempt each: only those that are due, not finished, and not held by another
 * attempt. What is left out needs nothing now (delivered, dead, held elsewhere, or a duplicate came early).
 * One statement for a whole queue batch.
 */
export async function claimDeliveries(db: Db, ids: string[]): Promise<ClaimedDelivery[]> {
  if (ids.length === 0) return [];
  const result = await db.execute<Record<string, unknown>>(sql`
    with claimed as (
      update ${webhookDeliveries} d set
        attempts = d.attempts + 1, round_attempts = d.round_attempts + 1,
        claimed_until = now() + make_interval(secs => ${CLAIM_SECONDS}), updated_at = ${nowMs}
      where d.id = any(${`{${ids.join(',')}}`}::uuid[]) and d.state in ('pending', 'retrying')
        and d.next_attempt_at <= now() + make_interval(secs => ${EARLY_SECONDS})
        and (d.claimed_until is null or d.claimed_until < now())
      returning d.*
    )
    select cl.id, cl.tenant_id, cl.connection_pk, cl.event_type, cl.data, cl.sequence, cl.payload, cl.attempts, cl.round_attempts,
           c.connection_id, c.webhook_url, c.webhook_secret,
           case when c.previous_webhook_secret_expires_at > now() then c.previous_webhook_secret end as previous_secret,
           to_jsonb(m.*) as message
    from claimed cl
    join ${connections} c on c.id = cl.connection_pk
    left join ${messages} m on m.id = cl.message_id`);
  return result.rows.map((r) => ({
    id: String(r.id),
    tenantId: String(r.tenant_id),
    connectionPk: String(r.connection_pk),
    connectionId: String(r.connection_id),
    eventType: String(r.event_type),
    data: (r.data as Record<string, unknown> | null) ?? null,
    sequence: Number(r.sequence),
    payload: (r.payload as string | null) ?? null,
    attempt: Number(r.attempts),
    roundAttempt: Number(r.round_attempts),
    webhookUrl: (r.webhook_url as string | null) ?? null,
    storedSecrets: [String(r.webhook_secret), ...(r.previous_secret ? [String(r.previous_secret)] : [])],
    message: r.message ? toMessageRow(r.message as Record<string, unknown>) : null,
  }));
}

export interface AttemptRecord {
  delivery: ClaimedDelivery;
  /** The body sent (kept, so retries send the same bytes). */
  payload: string;
  url: string;
  state: Exclude<DeliveryState, 'pending'>;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseExcerpt: string | null;
  /** For `retrying`: when the next attempt is due. */
  nextAttemptAt?: Date;
}

/** The attempts' outcomes on their delivery rows and as their webhook_logs rows, in one statement. */
export async function recordAttempts(db: Db, attempts: AttemptRecord[]): Promise<void> {
  if (attempts.length === 0) return;
  const values = attempts.map(
    (a) => sql`(${a.delivery.id}::uuid, ${a.delivery.tenantId}::uuid, ${a.delivery.connectionPk}::uuid, ${webhookIdOf(a.delivery.id)}::text,
      ${a.delivery.eventType}::text, ${a.url}::text, ${a.delivery.attempt}::int, ${a.state}::text, ${a.statusCode}::int, ${a.durationMs}::int,
      ${a.error}::text, ${a.responseExcerpt}::text, ${a.payload}::text, ${a.nextAttemptAt?.toISOString() ?? null}::timestamptz)`,
  );
  await db.execute(sql`
    with v (id, tenant_id, connection_pk, event_id, event_type, url, attempt, state, status_code, duration_ms, error, response_excerpt, payload, next_attempt_at)
      as (values ${sql.join(values, sql`, `)}),
    updated as (
      update ${webhookDeliveries} d set
        state = v.state, payload = coalesce(d.payload, v.payload), last_status_code = v.status_code, last_error = v.error,
        next_attempt_at = coalesce(v.next_attempt_at, d.next_attempt_at),
        delivered_at = case when v.state = 'delivered' then now() else d.delivered_at end,
        claimed_until = null, updated_at = ${nowMs}
      from v where d.id = v.id
      returning d.id
    )
    insert into ${webhookLogs} (tenant_id, connection_pk, delivery_id, event_id, event_type, url, attempt, state, status_code, duration_ms, error, response_excerpt)
    select v.tenant_id, v.connection_pk, v.id, v.event_id, v.event_type, v.url, v.attempt, v.state, v.status_code, v.duration_ms, v.error, v.response_excerpt
    from v join updated u on u.id = v.id
    on conflict (event_id, attempt) do nothing`);
}

/** A delivery's `webhook-id`: `msg_` and the row id without dashes (the Standard Webhooks style). */
export const webhookIdOf = (deliveryId: string) => `msg_${deliveryId.replaceAll('-', '')}`;

/**
 * Deliveries the queue should have brought by now and did not (the Worker died between commit and
 * enqueue, a queue message was lost): due more than `lateSeconds` ago and not held by an attempt. Their
 * due time moves to now, so the next sweep leaves them alone while the queue brings them.
 */
export async function takeOverdue(db: Db, lateSeconds: number, limit: number): Promise<string[]> {
  const result = await db.execute<{ id: string }>(sql`
    update ${webhookDeliveries} d set next_attempt_at = ${nowMs}, updated_at = ${nowMs}
    where d.id in (
      select id from ${webhookDeliveries}
      where state in ('pending', 'retrying') and next_attempt_at < now() - make_interval(secs => ${lateSeconds})
        and (claimed_until is null or claimed_until < now())
      order by next_attempt_at
      limit ${limit}
      for update skip locked
    )
    returning d.id`);
  return result.rows.map((r) => String(r.id));
}

/**
 * What the dead-letter queue's consumer does with a delivery the queue gave up on: dead if its own
 * schedule is spent too; otherwise (the queue ran out of retries while Postgres or this Worker was
 * failing) it stays pending, due now, and is answered for re-enqueueing.
 */
export async function settleDeadLetter(db: Db, id: string, scheduleLength: number): Promise<'dead' | 'requeue' | 'done'> {
  const result = await db.execute<{ state: string }>(sql`
    with target as (select id, round_attempts from ${webhookDeliveries} where id = ${id}::uuid and state in ('pending', 'retrying') for update),
    dead as (
      update ${webhookDeliveries} d set state = 'dead', claimed_until = null, updated_at = ${nowMs},
        last_error = coalesce(d.last_error, 'the queue gave up on it')
      from target t where d.id = t.id and t.round_attempts > ${scheduleLength}
      returning d.id
    ),
    requeued as (
      update ${webhookDeliveries} d set state = 'pending', next_attempt_at = ${nowMs}, claimed_until = null, updated_at = ${nowMs}
      from target t where d.id = t.id and t.round_attempts <= ${scheduleLength}
      returning d.id
    ),
    last_log as (
      update ${webhookLogs} l set state = 'dead'
      where l.id = (select max(id) from ${webhookLogs} where delivery_id in (select id from dead))
      returning 1
    )
    select 'dead' as state from dead union all select 'requeue' from requeued`);
  return (result.rows[0]?.state as 'dead' | 'requeue' | undefined) ?? 'done';
}

/**
 * Puts finished-but-failed deliveries back for another round (a replay): `dead` and `failed` ones of a
 * connection since a time, or one delivery by id whatever its state but `pending`/`retrying` in flight.
 * Answers the ids to enqueue.
 */
export async function reopenDeliveries(
  db: Db,
  scope: { tenantId: string; connectionPk: string } & ({ deliveryId: string } | { since: Date; states: DeliveryState[] }),
  limit = 10_000,
): Promise<string[]> {
  const which =
    'deliveryId' in scope
      ? sql`id = ${scope.deliveryId}::uuid and state in ('delivered', 'failed', 'dead')`
      : sql`state in (${sql.join(scope.states.map((s) => sql`${s}`), sql`, `)}) and created_at >= ${scope.since.toISOString()}::timestamptz`;
  const result = await db.execute<{ id: string }>(sql`
    update ${webhookDeliveries} set state = 'pending', round_attempts = 0, next_attempt_at = ${nowMs}, claimed_until = null, updated_at = ${nowMs}
    where id in (
      select id from ${webhookDeliveries}
      where tenant_id = ${scope.tenantId}::uuid and connection_pk = ${scope.connectionPk}::uuid and ${which}
      order by created_at limit ${limit}
    )
    returning id`);
  return result.rows.map((r) => String(r.id));
}

/**
 * Retention: finished deliveries (and their log rows, by cascade) and log rows older than `days`, at most
 * `limit` of each per call, so that one sweep stays short however large the backlog.
 */
export async function forgetOld(db: Db, days: number, limit: number): Promise<number> {
  const [deliveries, logs] = await db.batch([
    db.execute(sql`
      delete from ${webhookDeliveries} where id in (
        select id from ${webhookDeliveries}
        where state in ('delivered', 'failed', 'dead') and updated_at < now() - make_interval(days => ${days})
        limit ${limit}
      )`),
    db.execute(sql`
      delete from ${webhookLogs} where id in (
        select id from ${webhookLogs} where created_at < now() - make_interval(days => ${days}) limit ${limit}
      )`),
  ]);
  return Number((deliveries as { rowCount?: number }).rowCount ?? 0) + Number((logs as { rowCount?: number }).rowCount ?? 0);
}
