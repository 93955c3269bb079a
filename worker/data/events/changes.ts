// Changes to stored messages (message.change events: edits, revokes, reactions, poll votes), applied inside
// the batch's interactive transaction after its messages are stored (a change may be about a message of
// the same batch). Each target row is read FOR UPDATE, the change folded over it by change-policy.ts, the
// row written back, and its webhook deliveries written in the same transaction (outbox.ts).
//
// Out of order: a change whose message is not stored yet is kept in pending_message_changes (at most
// MAX_PENDING_PER_CONNECTION per connection; beyond that it is dropped and counted) and applied in the
// transaction that stores the message: persistEvents looks for such rows whenever it stores messages.
import { sql, type SQL } from 'drizzle-orm';
import { messages, nowMs, pendingMessageChanges } from '../../../drizzle/schema';
import type { QueuedEvent, RunnerEvent } from '../../../protocol/runner';
import { toMessageRow } from '../message-row';
import { deliveryIdsOf, outboxCtes } from '../outbox';
import { applyChange, type ChangeableMessage, type ChangeEffect } from './change-policy';
import type { MessageRow } from './outcome';
import type { Ref, Row, Tx } from './store';

export type ChangeEvent = Extract<RunnerEvent, { type: 'message.change' }>;
type QueuedChange = Omit<QueuedEvent, 'event'> & { event: ChangeEvent };

/** Changes kept for messages not stored yet, per connection; more are dropped (and counted as `pendingDropped`). */
export const MAX_PENDING_PER_CONNECTION = 1000;

/** A stored message one of the batch's changes changed. */
export interface MessageChangeOutcome {
  tenantId: string;
  connectionPk: string;
  connectionId: string;
  row: MessageRow;
  effect: ChangeEffect;
}

export interface ChangesApplied {
  changes: MessageChangeOutcome[];
  deliveries: string[];
  /** Kept for a message not stored yet. */
  pending: number;
  pendingDropped: number;
  /** Refused: their author may not make them (an edit of someone else's message). */
  refused: number;
}

export const isChange = (e: QueuedEvent): e is QueuedChange => e.event.type === 'message.change';

const rowsOf = async (tx: Tx, q: SQL) => ((await tx.execute(q)) as unknown as { rows: Row[] }).rows;

/** A statement the batch path appends when it stores messages: are there kept changes whose message is now stored? */
export function pendingProbe(pks: readonly string[]): SQL {
  return sql`select exists (select 1 from ${pendingMessageChanges} p join ${messages} m
      on m.connection_pk = p.connection_pk and m.provider_message_id = p.target_id and m.chat_id = p.chat_id
    where p.connection_pk in (${sql.join(pks.map((pk) => sql`${pk}::uuid`), sql`, `)})) as pending`;
}

/**
 * Applies the batch's changes and the kept ones whose message is stored now, for the connections `pks`
 * (locked by the caller; `ref` names them).
 */
export async function applyChanges(tx: Tx, events: readonly QueuedEvent[], pks: readonly string[], ref: Ref): Promise<ChangesApplied> {
  const out: ChangesApplied = { changes: [], deliveries: [], pending: 0, pendingDropped: 0, refused: 0 };
  const batch = events.filter(isChange);
  if (pks.length === 0) return out;
  const kept = await rowsOf(
    tx,
    sql`delete from ${pendingMessageChanges} p using ${messages} m
      where p.connection_pk in (${sql.join(pks.map((pk) => sql`${pk}::uuid`), sql`, `)})
        and m.connection_pk = p.connection_pk and m.provider_message_id = p.target_id and m.chat_id = p.chat_id
      returning p.connection_pk, p.tenant_id, p.event`,
  );
  const all: QueuedChange[] = [
    ...kept.map((k) => ({ connection_pk: String(k.connection_pk), tenant_id: String(k.tenant_id), epoch: 0, runner_id: '', event: k.event as ChangeEvent })),
    ...batch,
  ];
  if (all.length === 0) return out;
  // In the order they were made: an edit after the edit before it, a reaction after the one it replaces.
  all.sort((a, b) => a.event.timestamp.localeCompare(b.event.timestamp));

  const targetKey = (pk: string, id: string, chat: string) => `${pk} ${id} ${chat}`;
  const wanted = [...new Map(all.map((c) => [targetKey(c.connection_pk, c.event.target_id, c.event.chat_id), c])).values()];
  const found = await rowsOf(
    tx,
    sql`select m.* from ${messages} m
      join (values ${sql.join(
        wanted.map((c) => sql`(${c.connection_pk}::uuid, ${c.event.target_id}::text, ${c.event.chat_id}::text)`),
        sql`, `,
      )}) v (connection_pk, provider_message_id, chat_id)
        on m.connection_pk = v.connection_pk and m.provider_message_id = v.provider_message_id and m.chat_id = v.chat_id
      order by m.id for update of m`,
  );
  const rows = new Map(found.map((r) => [targetKey(String(r.connection_pk), String(r.provider_message_id), String(r.chat_id)), toMessageRow(r)]));

  const changed = new Map<number, { pk: string; row: MessageRow }>();
  const effects: { pk: string; messageId: number; eventId: string; effect: ChangeEffect }[] = [];
  const waiting: QueuedChange[] = [];
  for (const c of all) {
    const key = targetKey(c.connection_pk, c.event.target_id, c.event.chat_id);
    const row = rows.get(key);
    if (!row) {
      waiting.push(c);
      continue;
    }
    const verdict = applyChange(row as ChangeableMessage, {
      fromMe: c.event.from_me,
      author: c.event.author,
      byAdmin: c.event.by_admin,
      timestamp: c.event.timestamp,
      change: c.event.change,
    });
    if (!verdict.applied) {
      if (verdict.reason === 'refused') {
        out.refused++;
        console.warn(JSON.stringify({ level: 'warn', msg: 'message change refused', kind: c.event.change.kind, event_id: c.event.id, connection_pk: c.connection_pk }));
      }
      continue;
    }
    const next = { ...row, ...verdict.message } as MessageRow;
    rows.set(key, next);
    changed.set(row.id, { pk: c.connection_pk, row: next });
    effects.push({ pk: c.connection_pk, messageId: row.id, eventId: c.event.id, effect: verdict.effect });
  }

  for (const c of waiting) {
    const inserted = await rowsOf(
      tx,
      sql`insert into ${pendingMessageChanges} (connection_pk, tenant_id, chat_id, target_id, event_id, event)
        select ${c.connection_pk}::uuid, ${c.tenant_id}::uuid, ${c.event.chat_id}, ${c.event.target_id}, ${c.event.id}, ${JSON.stringify(c.event)}::jsonb
        where (select count(*) from ${pendingMessageChanges} where connection_pk = ${c.connection_pk}::uuid) < ${MAX_PENDING_PER_CONNECTION}
        on conflict (connection_pk, event_id) do nothing
        returning id`,
    );
    if (inserted.length) out.pending++;
    else out.pendingDropped++;
  }
  if (out.pendingDropped) console.warn(JSON.stringify({ level: 'warn', msg: 'message changes for unknown messages dropped', count: out.pendingDropped }));

  const stored = new Map<number, MessageRow>();
  for (const { row } of changed.values()) {
    const [r] = await rowsOf(
      tx,
      sql`update ${messages} set text = ${row.text}, edited_at = ${row.editedAt?.toISOString() ?? null}::timestamptz,
          deleted_at = ${row.deletedAt?.toISOString() ?? null}::timestamptz, edits = ${JSON.stringify(row.edits)}::jsonb,
          reactions = ${JSON.stringify(row.reactions)}::jsonb, poll_votes = ${row.pollVotes === null ? null : JSON.stringify(row.pollVotes)}::jsonb,
          updated_at = ${nowMs}
        where id = ${row.id} returning *`,
    );
    if (r) stored.set(row.id, toMessageRow(r));
  }
  if (effects.length === 0) return out;

  const values = effects.map(({ pk, messageId, eventId, effect }, i) => {
    const eventKey = effect.event === 'message.deleted' ? `message.deleted:${messageId}` : `message.updated:${eventId}`;
    const data = effect.event === 'message.deleted' ? { scope: effect.scope, by: effect.by, at: effect.at } : { change: effect.change, by: effect.by, at: effect.at };
    return sql`(${ref(pk).tenantId}::uuid, ${pk}::uuid, ${effect.event}::text, ${eventKey}::text, ${messageId}::bigint, ${JSON.stringify(data)}::jsonb, ${i + 1}::int)`;
  });
  const queued = await rowsOf(
    tx,
    sql`with deliverable (tenant_id, connection_pk, event_type, event_key, message_id, data, ord) as (values ${sql.join(values, sql`, `)})${outboxCtes()}
      select coalesce((select array_agg(id) from queued), '{}'::uuid[]) as delivery_ids`,
  );
  out.deliveries = deliveryIdsOf(queued);
  for (const e of effects) {
    const row = stored.get(e.messageId);
    if (row) out.changes.push({ ...ref(e.pk), row, effect: e.effect });
  }
  return out;
}
