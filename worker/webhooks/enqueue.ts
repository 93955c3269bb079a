// Puts outbox rows on the `webhooks` queue (after the transaction that wrote them committed). Queue
// messages carry only the row's id, so they stay far below the queue's size limits; a failure here loses
// nothing, since the sweep re-enqueues rows that were never attempted.
import type { Env } from '../env';
import { errorText } from '../lib/error-text';
import { sendWithinLimits } from '../queues/limits';

export async function enqueueDeliveries(env: Pick<Env, 'WEBHOOKS'>, ids: string[], delaySeconds?: number): Promise<void> {
  await sendWithinLimits(env.WEBHOOKS, ids.map((id) => ({ delivery_id: id }) satisfies DeliveryJob), delaySeconds);
}

export interface DeliveryJob {
  delivery_id: string;
}

/**
 * After a commit: the deliveries are rows already, so putting them on the queue is only for speed. If
 * that fails (or the Worker dies first), the sweep enqueues them within a minute or two; it is logged,
 * never thrown.
 */
export async function enqueueCommitted(env: Pick<Env, 'WEBHOOKS'>, ids: string[]): Promise<void> {
  try {
    await enqueueDeliveries(env, ids);
  } catch (e) {
    console.warn(JSON.stringify({ level: 'warn', msg: 'enqueueing webhook deliveries failed; the sweep will', count: ids.length, error: errorText(e) }));
  }
}
