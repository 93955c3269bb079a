// Consumer of the `events` queue: runner events (one QueuedEvent per message) are stored in Postgres in
// one transaction per batch: over Neon's HTTP driver in one round trip, unless the batch holds lifecycle
// events (data/events/), with the webhook deliveries they make (data/outbox.ts), which then go on the
// `webhooks` queue; realtime clients are told last. Nothing is acknowledged before it is stored: any failure (Postgres down, a
// bug) retries the whole batch with backoff, and persistence is idempotent, so redelivery is harmless.
import { MEDIA_TYPES, receivedMediaByKey } from '../media-in/store';
import { httpDb } from '../data/db';
import { errorText } from '../lib/error-text';
import { EventsQueueMessage, type QueuedEvent } from '../../protocol/runner';
import { unspill } from './spill';
import { eventsStore } from '../data/db';
import type { EventsStore } from '../data/events';
import { persistEvents, type PersistOutcome } from '../data/events';
import { publicEventsOf } from '../data/events/public';
import { publishRealtime } from '../hub/client';
import { enqueueCommitted } from '../webhooks/enqueue';
import type { Env } from '../env';

/** Retry delay: 5 s doubling per attempt, at most 5 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(300, 5 * 2 ** Math.max(0, Math.min(attempts - 1, 10)));
}

/** A batch retried this often without success is split to find the event that fails it (see store()). */
export const SPLIT_AFTER_ATTEMPTS = 3;

interface Entry {
  msg: Message<unknown>;
  event: QueuedEvent;
  /** Where the event was read from when it was too large for the queue (queues/spill.ts). */
  spilledKey?: string;
}

export async function consumeEvents(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext): Promise<void> {
  const entries: Entry[] = [];
  let attempts = 1;
  for (const msg of batch.messages) {
    const parsed = EventsQueueMessage.safeParse(msg.body);
    if (!parsed.success) {
      // Can never succeed, so retrying would only block the queue; the body is not logged (it may hold message text).
      console.error(JSON.stringify({ level: 'error', msg: 'invalid queued event dropped', queue: batch.queue, message_id: msg.id, issues: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`) }));
      msg.ack();
      continue;
    }
    attempts = Math.max(attempts, msg.attempts);
    if ('event' in parsed.data) {
      entries.push({ msg, event: parsed.data });
      continue;
    }
    // Too large for a queue message: the event is in R2 (queues/spill.ts).
    let event: QueuedEvent | undefined;
    try {
      event = await unspill(env.EVENT_SPILL, parsed.data);
    } catch (e) {
      console.error(JSON.stringify({ level: 'error', msg: 'reading a spilled event failed; retried', key: parsed.data.spilled.key, error: errorText(e) }));
      msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts) });
      continue;
    }
    // Gone: an earlier delivery of this message stored it and cleaned up (the queue delivers at least once).
    if (!event) msg.ack();
    else entries.push({ msg, event, spilledKey: parsed.data.spilled.key });
  }
  if (entries.length === 0) return;

  const stored: { entries: Entry[]; outcome: PersistOutcome }[] = [];
  await store(eventsStore(env, (closing) => ctx.waitUntil(closing)), entries, attempts >= SPLIT_AFTER_ATTEMPTS, stored, batch.queue);
  const outcomes = stored.map((s) => s.outcome);
  const deliveries = outcomes.flatMap((o) => o.deliveries);
  await enqueueCommitted(env, deliveries);
  const done = stored.flatMap((s) => s.entries);
  for (const e of done) e.msg.ack();
  const spilled = done.flatMap((e) => (e.spilledKey ? [e.spilledKey] : []));
  if (spilled.length) ctx.waitUntil(env.EVENT_SPILL.delete(spilled).catch(() => {}));
  for (const outcome of outcomes) {
    try {
      await afterPersist(outcome, env, ctx);
    } catch (e) {
      console.error(JSON.stringify({ level: 'error', msg: 'after-persist step failed', error: errorText(e) }));
    }
  }
}

/**
 * Stores the entries in one transaction. When that fails, they are retried with backoff, all of them:
 * usually Postgres is away and every event would fail alike. A batch that has failed SPLIT_AFTER_ATTEMPTS
 * times is split in halves instead, each stored on its own, down to the one event that fails: so a poison
 * event (one Postgres refuses, whatever the cause) is retried alone, and on to the dead-letter queue,
 * while its 99 neighbours are stored now.
 */
async function store(db: EventsStore, entries: Entry[], split: boolean, stored: { entries: Entry[]; outcome: PersistOutcome }[], queue: string): Promise<void> {
  try {
    stored.push({ entries, outcome: await persistEvents(db, entries.map((e) => e.event)) });
    return;
  } catch (e) {
    if (split && entries.length > 1) {
      const half = Math.ceil(entries.length / 2);
      await store(db, entries.slice(0, half), split, stored, queue);
      await store(db, entries.slice(half), split, stored, queue);
      return;
    }
    const attempts = Math.max(...entries.map((x) => x.msg.attempts));
    const delaySeconds = retryDelaySeconds(attempts);
    console.error(JSON.stringify({ level: 'error', msg: 'persisting events failed; retried', queue, size: entries.length, attempts, delay_seconds: delaySeconds, error: errorText(e) }));
    for (const x of entries) x.msg.retry({ delaySeconds });
  }
}

/**
 * What happens once a batch is stored and acknowledged: realtime fan-out (best effort; see hub/client.ts).
 * Webhook deliveries do not hang off this: they are rows of the batch's own transaction.
 */
export async function afterPersist(outcome: PersistOutcome, env: Env, _ctx: ExecutionContext): Promise<void> {
  // Only batches with received files pay for the look-up.
  const files = outcome.messages.filter((m) => m.row.direction === 'inbound' && MEDIA_TYPES.has(m.row.type)).map((m) => m.row);
  const media = files.length ? await receivedMediaByKey(httpDb(env), files).catch(() => undefined) : undefined;
  await publishRealtime(env, await publicEventsOf(outcome, new Date(), media));
}
