// Puts outbox rows on the `webhooks` queue (after the transaction that wrote them committed). Queue
// messages carry only the row's id, so they stay far below the queue's size limits; a failure here loses
// nothing, since the sweep re-enqueues rows that were never attempted.
import type { Env } from '../env';

/** Cloudflare Queues take at most 100 messages per sendBatch. */
const QUEUE_BATCH_MESSAGES = 100;

export interface DeliveryJob {
  delivery_id: string;
}

export async function enqueueDeliveries(env: Pick<Env, 'WEBHOOKS'>, ids: string[], delaySeconds?: number): Promise<void> {
  for (let i = 0; i < ids.length; i += QUEUE_BATCH_MESSAGES) {
    const chunk = ids.slice(i, i + QUEUE_BATCH_MESSAGES).map((id) => ({ body: { delivery_id: id } satisfies DeliveryJob, contentType: 'json' as const }));
    await env.WEBHOOKS.sendBatch(chunk, delaySeconds ? { delaySeconds } : undefined);
  }
}
