// Consumer of the `events` queue: runner events (one QueuedEvent per message) are stored in Postgres in
// one transaction per batch: over Neon's HTTP driver in one round trip, unless the batch holds lifecycle
// events (data/events/), with the webhook deliveries they make (data/outbox.ts), which then go on the
// `webhooks` queue; realtime clients are told last. Nothing is acknowledged before it is stored: any failure (Postgres down, a
// bug) retries the whole batch with backoff, and persistence is idempotent, so redelivery is harmless.
import { EventsQueueMessage, type QueuedEvent } from '../../protocol/runner';
import { unspill } from './spill';
import { eventsStore } from '../data/db';
import { persistEvents, type PersistOutcome } from '../data/events';
import { publicEventsOf } from '../data/events/public';
import { publishRealtime } from '../hub/client';
import { enqueueDeliveries } from '../webhooks/enqueue';
import type { Env } from '../env';

/** Retry delay: 5 s doubling per attempt, at most 5 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(300, 5 * 2 ** Math.max(0, Math.min(attempts - 1, 10)));
}

export async function consumeEvents(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext): Promise<void> {
  const events: QueuedEvent[] = [];
  const spilledKeys: string[] = [];
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
      events.push(parsed.data);
      continue;
    }
    // Too large for a queue message: the event is in R2 (queues/spill.ts).
    let event: QueuedEvent | undefined;
    try {
      event = await unspill(env.EVENT_SPILL, parsed.data);
    } catch (e) {
      console.error(JSON.stringify({ level: 'error', msg: 'reading a spilled event failed; batch retried', key: parsed.data.spilled.key, error: String(e) }));
      batch.retryAll({ delaySeconds: retryDelaySeconds(attempts) });
      return;
    }
    // Gone: an earlier delivery of this message stored it and cleaned up (the queue delivers at least once).
    if (!event) msg.ack();
    else {
      events.push(event);
      spilledKeys.push(parsed.data.spilled.key);
    }
  }
  if (events.length === 0) return;

  let outcome: PersistOutcome;
  try {
    outcome = await persistEvents(eventsStore(env, (closing) => ctx.waitUntil(closing)), events);
  } catch (e) {
    const delaySeconds = retryDelaySeconds(attempts);
    console.error(JSON.stringify({ level: 'error', msg: 'persisting events failed; batch retried', queue: batch.queue, size: events.length, attempts, delay_seconds: delaySeconds, error: e instanceof Error ? e.message : String(e) }));
    // Individually acked (invalid) messages are not affected: a per-message call takes precedence.
    batch.retryAll({ delaySeconds });
    return;
  }
  // The deliveries are rows of the committed transaction already; putting them on the queue now is only
  // for speed: if this fails (or the Worker dies here), the sweep enqueues them within a minute or two.
  try {
    await enqueueDeliveries(env, outcome.deliveries);
  } catch (e) {
    console.warn(JSON.stringify({ level: 'warn', msg: 'enqueueing webhook deliveries failed; the sweep will', count: outcome.deliveries.length, error: e instanceof Error ? e.message : String(e) }));
  }
  batch.ackAll();
  if (spilledKeys.length) ctx.waitUntil(env.EVENT_SPILL.delete(spilledKeys).catch(() => {}));
  try {
    await afterPersist(outcome, env, ctx);
  } catch (e) {
    console.error(JSON.stringify({ level: 'error', msg: 'after-persist step failed', error: e instanceof Error ? e.message : String(e) }));
  }
}

/**
 * What happens once a batch is stored and acknowledged: realtime fan-out (best effort; see hub/client.ts).
 * Webhook deliveries do not hang off this: they are rows of the batch's own transaction.
 */
export async function afterPersist(outcome: PersistOutcome, env: Env, _ctx: ExecutionContext): Promise<void> {
  await publishRealtime(env, await publicEventsOf(outcome));
}
