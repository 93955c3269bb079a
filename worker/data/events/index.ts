// Persistence of runner events (the `events` queue) into Postgres: messages, chats, message receipts and
// connection lifecycle (status, QR). Queue delivery is at-least-once, so applying a batch again — or an
// older batch after a newer one — must change nothing: messages are keyed by provider message id, chat
// counters only count rows this call inserted, statuses only move forward, and lifecycle events older
// than the stored state are skipped. One transaction per batch, a handful of statements per batch
// (grouped by event type), never one round trip per event. A batch without lifecycle events (nearly all:
// messages and receipts) is one round trip in all, and over Neon's HTTP driver needs no database session
// (EventsStore.batch).
//
// Concurrency: the batch's connection rows are locked first (FOR NO KEY UPDATE, in id order), so two
// consumers working on the same connection run one after the other — no lost unread increments, no
// lifecycle fold over stale state, no deadlocks between chat upserts. The lock does not block the send
// path's message inserts (their foreign-key check takes KEY SHARE) but does hold back a connection
// delete until the batch is stored.
//
// Modules: store.ts (the two ways a batch is stored), owners.ts (locking and ownership), messages.ts
// (messages and chats), receipts.ts (statuses), lifecycle.ts (status and QR folds), outcome.ts (what a
// batch changed).
import { sql } from 'drizzle-orm';
import { connections } from '../../../drizzle/schema';
import type { QueuedEvent } from '../../../protocol/runner';
import { deliveryIdsOf } from '../outbox';
import { jsonBytes } from '../../../protocol/utf8';
import { applyChanges, isChange, pendingProbe } from './changes';
import { persistLifecycle } from './lifecycle';
import { callStatements } from './calls';
import { contactStatements } from './contacts';
import { messageStatements } from './messages';
import type { MessageStatusChange, PersistOutcome } from './outcome';
import { owned, ownersOf } from './owners';
import { statusStatements, type StatusRow } from './receipts';
import type { EventsStore, Plan, Ref, Row } from './store';

export { applyLifecycle, type LifecycleState } from './lifecycle';
export type { MessageChangeOutcome } from './changes';
export type { CallOutcome } from './calls';
export type { ConnectionChange, MessageRow, MessageStatusChange, NewMessage, PersistOutcome } from './outcome';
export type { EventsDb, EventsStore, Row } from './store';

const isLifecycle = (e: QueuedEvent) => e.event.type === 'connection.status' || e.event.type === 'qr';
const isUpsert = (e: QueuedEvent) => e.event.type === 'message.upsert';

/**
 * Above this much event JSON a batch goes over a session too: Neon's HTTP endpoint caps a request's
 * response at 10 MB (and its request size), and a batch of history-sync messages with rich content can
 * come near that, while a session streams. A live batch is a few kilobytes.
 */
export const HTTP_BATCH_MAX_BYTES = 1024 * 1024;

/**
 * Stores a batch of queued runner events in one transaction. Idempotent: the same batch applied twice
 * leaves the database as after the first time, and the second outcome is empty.
 */
export async function persistEvents(store: EventsStore, events: readonly QueuedEvent[]): Promise<PersistOutcome> {
  const outcome: PersistOutcome = { messages: [], statuses: [], connections: [], changes: [], calls: [], ignored: 0, deliveries: [] };
  if (events.length === 0) return outcome;
  // Changes to messages (edits, revokes, reactions, votes) read their message before they write it: a session.
  if (events.some(isLifecycle) || events.some(isChange) || jsonBytes(events) > HTTP_BATCH_MAX_BYTES) {
    return store.interactive(async (tx) => {
      const owners = await ownersOf(tx, events);
      const { accepted, ignored, ref } = owned(events, owners);
      outcome.ignored = ignored;
      const lifecycle = await persistLifecycle(tx, accepted, owners);
      outcome.connections = lifecycle.changes;
      const plan = writePlan(accepted);
      const results: Row[][] = [];
      for (const s of plan.statements) results.push(((await tx.execute(s)) as unknown as { rows: Row[] }).rows);
      const touched = [...new Set(accepted.filter((e) => isChange(e) || isUpsert(e)).map((e) => e.connection_pk))].sort();
      const changes = await applyChanges(tx, accepted, touched, ref);
      return {
        ...outcome,
        ...plan.read(results, ref),
        changes: changes.changes,
        deliveries: [...lifecycle.deliveries, ...deliveryIdsOf(results.flat()), ...changes.deliveries],
      };
    });
  }
  // No lifecycle: one round trip. The first statement locks the batch's connections, as above; the writes
  // after it cannot wait for its answer, so each one keeps only rows whose connection is the tenant's.
  const pks = [...new Set(events.map((e) => e.connection_pk))].sort();
  const lock = sql`select id, tenant_id, connection_id from ${connections}
    where id in (${sql.join(pks.map((pk) => sql`${pk}::uuid`), sql`, `)}) order by id for no key update`;
  const plan = writePlan(events);
  // Stored messages may be what kept changes (changes.ts) were waiting for: the last statement asks.
  const upsertPks = [...new Set(events.filter(isUpsert).map((e) => e.connection_pk))].sort();
  const probe = upsertPks.length ? [pendingProbe(upsertPks)] : [];
  const [locked, ...answers] = await store.batch([lock, ...plan.statements, ...probe]);
  const results = answers.slice(0, plan.statements.length);
  const refs = new Map(
    locked!.map((r) => [String(r.id), { tenantId: String(r.tenant_id), connectionPk: String(r.id), connectionId: String(r.connection_id) }]),
  );
  const ignored = events.filter((e) => refs.get(e.connection_pk)?.tenantId !== e.tenant_id).length;
  const stored = { ...outcome, ...plan.read(results, (pk) => refs.get(pk)!), ignored, deliveries: deliveryIdsOf(results.flat()) };
  if (probe.length && answers[plan.statements.length]?.[0]?.pending === true) {
    // Rare (a change came before its message): applied in a transaction of its own, over the locked connections.
    // Should that fail, the kept rows stay and the connection's next stored message applies them.
    const owned_ = events.filter((e) => upsertPks.includes(e.connection_pk));
    const applied = await store.interactive(async (tx) => {
      const { accepted, ref } = owned(owned_, await ownersOf(tx, owned_));
      return applyChanges(tx, [], [...new Set(accepted.map((e) => e.connection_pk))].sort(), ref);
    });
    return { ...stored, changes: applied.changes, deliveries: [...stored.deliveries, ...applied.deliveries] };
  }
  return stored;
}

/**
 * The batch's messages (with their chats), then its receipts (a receipt may be for a message of the same
 * batch), then what it says about people, then its calls.
 */
function writePlan(events: readonly QueuedEvent[]): Plan<Pick<PersistOutcome, 'messages' | 'statuses' | 'calls'>> {
  const messagePlan = messageStatements(events);
  const statusPlan = statusStatements(events);
  const contactPlan = contactStatements(events);
  const callPlan = callStatements(events);
  const split = messagePlan.statements.length;
  const calls = split + statusPlan.statements.length + contactPlan.statements.length;
  return {
    statements: [...messagePlan.statements, ...statusPlan.statements, ...contactPlan.statements, ...callPlan.statements],
    read: (results, ref) => ({
      messages: messagePlan.read(results.slice(0, split), ref).map((m) => ({ ...ref(m.row.connectionPk), ...m })),
      statuses: statusPlan.read(results.slice(split, split + statusPlan.statements.length), ref).map((r) => statusChange(ref, r)),
      calls: callPlan.read(results.slice(calls, calls + callPlan.statements.length), ref),
    }),
  };
}

const statusChange = (ref: Ref, r: StatusRow): MessageStatusChange => ({
  ...ref(r.connectionPk),
  messageId: r.id,
  providerMessageId: r.providerMessageId,
  clientMessageId: r.clientMessageId,
  chatId: r.chatId,
  direction: r.direction,
  status: r.status,
  previousStatus: r.previousStatus,
});
