// Cloudflare Queues' limits as production enforces them, and sending within them. The local stand-in
// (Miniflare) refuses a message over 128,000 bytes and a batch over 100 messages, but takes batches up to
// 288,000 bytes where Cloudflare stops at 256 KB: so the budget is checked here, before either sees it.
import { jsonBytes } from '../../protocol/utf8';

/** One message's body (JSON), with room left for what the platform adds to it. */
export const QUEUE_MESSAGE_BUDGET_BYTES = 120_000;
/** One sendBatch: at most 100 messages and 256 KB in all on Cloudflare; kept under both. */
export const QUEUE_BATCH_BUDGET_BYTES = 240_000;
export const QUEUE_BATCH_MAX_MESSAGES = 100;

export class QueueMessageTooLarge extends Error {}

/** What sending needs of a queue binding (a `Queue` in workerd). */
export interface BatchQueue {
  sendBatch(messages: { body: unknown; contentType?: 'json' }[], options?: { delaySeconds?: number }): Promise<unknown>;
}

/** Bodies in as few sendBatch calls as the limits allow, in order. A body over the message budget throws. */
export async function sendWithinLimits(queue: BatchQueue, bodies: unknown[], delaySeconds?: number): Promise<void> {
  let chunk: { body: unknown; contentType: 'json' }[] = [];
  let bytes = 0;
  const flush = async () => {
    if (chunk.length) await queue.sendBatch(chunk, delaySeconds ? { delaySeconds } : undefined);
    chunk = [];
    bytes = 0;
  };
  for (const body of bodies) {
    const size = jsonBytes(body);
    if (size > QUEUE_MESSAGE_BUDGET_BYTES) throw new QueueMessageTooLarge(`a queue message of ${size} bytes is over the ${QUEUE_MESSAGE_BUDGET_BYTES}-byte budget`);
    if (chunk.length === QUEUE_BATCH_MAX_MESSAGES || bytes + size > QUEUE_BATCH_BUDGET_BYTES) await flush();
    chunk.push({ body, contentType: 'json' });
    bytes += size;
  }
  await flush();
}
