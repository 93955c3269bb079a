// Consumers of the `webhooks` queue (one delivery attempt per message) and of `webhooks-dlq` (what the
// queue gave up on). The outbox row is the truth; a queue message only says "look at this row now", so
// duplicates and early arrivals are harmless (claimDelivery lets one attempt at a time through, when due).
import { z } from 'zod';
import { claimDelivery, recordAttempt, settleDeadLetter, webhookIdOf, type ClaimedDelivery } from '../data/deliveries';
import { httpDb } from '../data/db';
import type { Env } from '../env';
import { attemptDelivery } from './attempt';
import { webhookConfig, type WebhookConfig } from './config';
import { enqueueDeliveries } from './enqueue';
import { deliveryBody } from './render';
import { retryDelaySeconds } from './schedule';

const DeliveryJob = z.object({ delivery_id: z.string().uuid() });

/** When our own side fails (Postgres down): try the message again, backing off to 5 minutes. */
const ownFailureDelay = (attempts: number) => Math.min(300, 5 * 2 ** Math.min(attempts - 1, 6));

const log = (level: 'warn' | 'error', msg: string, fields: Record<string, unknown>) =>
  console[level](JSON.stringify({ level, msg, ...fields }));

export async function consumeWebhooks(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const config = webhookConfig(env);
  await Promise.all(batch.messages.map((msg) => handle(msg, env, config)));
}

async function handle(msg: Message<unknown>, env: Env, config: WebhookConfig): Promise<void> {
  const job = DeliveryJob.safeParse(msg.body);
  if (!job.success) {
    log('error', 'invalid webhook job dropped', { message_id: msg.id });
    return msg.ack();
  }
  const db = httpDb(env);
  let delivery: ClaimedDelivery | undefined;
  try {
    delivery = await claimDelivery(db, job.data.delivery_id);
  } catch (e) {
    log('error', 'claiming a webhook delivery failed; retried', { delivery_id: job.data.delivery_id, error: String(e) });
    return msg.retry({ delaySeconds: ownFailureDelay(msg.attempts) });
  }
  if (!delivery) return msg.ack(); // finished, held by another attempt, or not due yet: nothing to do now

  let body: string;
  try {
    body = await deliveryBody(delivery);
  } catch (e) {
    log('error', 'rendering a webhook delivery failed; retried', { delivery_id: delivery.id, error: String(e) });
    return msg.retry({ delaySeconds: ownFailureDelay(msg.attempts) });
  }
  const outcome = delivery.webhookUrl
    ? await attemptDelivery({
        url: delivery.webhookUrl,
        webhookId: webhookIdOf(delivery.id),
        body,
        secrets: delivery.secrets,
        timeoutMs: config.timeoutMs,
        policy: config.policy,
      })
    : { kind: 'refused' as const, statusCode: null, durationMs: 0, error: 'the connection has no webhook URL any more', responseExcerpt: null };

  const delay = outcome.kind === 'failed' ? retryDelaySeconds(config.schedule, delivery.roundAttempt) : null;
  const state = outcome.kind === 'delivered' ? 'delivered' : outcome.kind === 'refused' ? 'failed' : delay === null ? 'dead' : 'retrying';
  try {
    await recordAttempt(db, {
      delivery,
      payload: body,
      url: delivery.webhookUrl ?? '',
      state,
      statusCode: outcome.statusCode,
      durationMs: outcome.durationMs,
      error: outcome.error,
      responseExcerpt: outcome.responseExcerpt,
      nextAttemptAt: delay === null ? undefined : new Date(Date.now() + delay * 1000),
    });
  } catch (e) {
    // The attempt happened but is not recorded: its claim runs out and the message comes again, so the
    // endpoint may see this delivery twice (same webhook-id, which is what receivers deduplicate on).
    log('error', 'recording a webhook attempt failed; retried', { delivery_id: delivery.id, error: String(e) });
    return msg.retry({ delaySeconds: ownFailureDelay(msg.attempts) });
  }
  if (delay === null) return msg.ack();
  msg.retry({ delaySeconds: delay });
}

/**
 * `webhooks-dlq`: deliveries whose queue message ran out of retries. Dead when their own schedule is spent
 * too; otherwise (the retries went on our own failures) they go back on the queue. Nothing is acknowledged
 * before Postgres says so; and should this queue drop a message after all, the row is still pending in
 * Postgres, where the sweep finds it.
 */
export async function consumeWebhookDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const config = webhookConfig(env);
  const db = httpDb(env);
  await Promise.all(
    batch.messages.map(async (msg) => {
      const job = DeliveryJob.safeParse(msg.body);
      if (!job.success) return msg.ack();
      try {
        const verdict = await settleDeadLetter(db, job.data.delivery_id, config.schedule.length);
        if (verdict === 'requeue') await enqueueDeliveries(env, [job.data.delivery_id]);
        msg.ack();
      } catch (e) {
        log('error', 'settling a dead-lettered webhook failed; retried', { delivery_id: job.data.delivery_id, error: String(e) });
        msg.retry({ delaySeconds: ownFailureDelay(msg.attempts) });
      }
    }),
  );
}
