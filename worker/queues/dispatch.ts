// Routes a queue batch to its consumer by queue name. Consumers are idempotent (at-least-once delivery).
// Until a queue's consumer exists its messages are retried, never acknowledged, so nothing is lost.
import type { Env } from '../env';
import { consumeWebhookDeadLetters, consumeWebhooks } from '../webhooks/consumer';
import { consumeDeadEvents } from './dead-events';
import { consumeEvents } from './events';

type Consumer = (batch: MessageBatch, env: Env, ctx: ExecutionContext) => Promise<void>;

const consumers: Record<string, Consumer> = {
  events: consumeEvents,
  'events-dlq': consumeDeadEvents,
  webhooks: consumeWebhooks,
  'webhooks-dlq': consumeWebhookDeadLetters,
};

export async function dispatchQueue(batch: MessageBatch, env: Env, ctx: ExecutionContext): Promise<void> {
  const consumer = consumers[batch.queue.replace(/-(preview|staging)$/, '')];
  if (consumer) return consumer(batch, env, ctx);
  console.warn(JSON.stringify({ level: 'warn', msg: 'no consumer for queue yet; retrying batch', queue: batch.queue, size: batch.messages.length }));
  batch.retryAll({ delaySeconds: 60 });
}
