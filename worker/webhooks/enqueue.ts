// Puts outbox rows on the `webhooks` queue (after the transaction that wrote them committed). Queue
// messages carry only the row's id, so they stay far below the queue's size limits; a failure here loses
// nothing, since the sweep re-enqueues rows that were never attempted.
import type { Env } from '../env';
import { sendWithinLimits } from '../queues/limits';

export async function enqueueDeliveries(env: Pick<Env, 'WEBHOOKS'>, ids: string[], delaySeconds?: number): Promise<void> {
  await sendWithinLimits(env.WEBHOOKS, ids.map((id) => ({ delivery_id: id }) satisfies DeliveryJob), delaySeconds);
}

export interface DeliveryJob {
  delivery_id: string;
}
