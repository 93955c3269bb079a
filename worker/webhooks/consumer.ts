// Consumers of the `webhooks` queue (one delivery attempt per message; a batch's rows are claimed in one
// statement and its attempts, made concurrently, recorded in another) and of `webhooks-dlq` (what the
// queue gave up on). The outbox row is the truth; a queue message only says "look at this row now", so
// duplicates and early arrivals are harmless (claimDelivery lets one attempt at a time through, when due).
import { errorText } from '../lib/error-text';
import { z } from 'zod';
import { CLAIM_SECONDS, claimDeliveries, recordAttempts, settleDeadLetter, webhookIdOf, type AttemptRecord, type ClaimedDelivery } from '../data/deliveries';
import { httpDb } from '../data/db';
import type { Env } from '../env';
import { attemptDelivery } from './attempt';
import { webhookConfig, type WebhookConfig } from './config';
import { enqueueDeliveries } from './enqueue';
import { deliveryBody, webhookMediaOf } from './render';
import type { Message as MessageView } from '../../protocol/messages';
import { retryDelaySeconds } from './schedule';
import { openWebhookSecret, webhookKeyring } from './secrets';
import type { Keyring } from '../secrets/keyring';

const DeliveryJob = z.object({ delivery_id: z.string().uuid() });

/** When our own side fails (Postgres down): try the message again, backing off to 5 minutes. */
const ownFailureDelay = (attempts: number) => Math.min(300, 5 * 2 ** Math.min(attempts - 1, 6));

const log = (level: 'warn' | 'error', msg: string, fields: Record<string, unknown>) =>
  console[level](JSON.stringify({ level, msg, ...fields }));

export async function consumeWebhooks(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const config = webhookConfig(env);
  const db = httpDb(env);
  const ring = await webhookKeyring(env);
  const jobs = new Map<string, Message<unknown>[]>();
  for (const msg of batch.messages) {
    const job = DeliveryJob.safeParse(msg.body);
    if (!job.success) {
      log('error', 'invalid webhook job dropped', { message_id: msg.id });
      msg.ack();
      continue;
    }
    jobs.set(job.data.delivery_id, [...(jobs.get(job.data.delivery_id) ?? []), msg]);
  }
  const retryAll = (msgs: Iterable<Message<unknown>[]>, minDelaySeconds = 0) => {
    for (const list of msgs) for (const m of list) m.retry({ delaySeconds: Math.max(minDelaySeconds, ownFailureDelay(m.attempts)) });
  };
  // Nothing can be signed without the key (logged by webhookKeyring): the deliveries wait, unclaimed.
  if (!ring) return retryAll(jobs.values());
  // A claimed row stays held until its claim runs out: a message back before that would find it held.
  const afterClaim = CLAIM_SECONDS + 5;
  let claimed: ClaimedDelivery[];
  try {
    claimed = await claimDeliveries(db, [...jobs.keys()]);
  } catch (e) {
    log('error', 'claiming webhook deliveries failed; retried', { count: jobs.size, error: errorText(e) });
    return retryAll(jobs.values());
  }
  // Finished, held by another attempt, or not due yet: nothing to do now.
  const claimedIds = new Set(claimed.map((d) => d.id));
  for (const [id, msgs] of jobs) if (!claimedIds.has(id)) for (const m of msgs) m.ack();

  // A body is kept once sent (same webhook-id, same body on every retry): rendered without its media, it would stay so.
  let media: Map<string, MessageView['media']>;
  try {
    media = await webhookMediaOf(db, env, claimed);
  } catch (e) {
    log('error', 'reading received media for webhook bodies failed; retried', { count: claimed.length, error: errorText(e) });
    return retryAll(jobs.values(), afterClaim);
  }
  const attempts = await Promise.all(claimed.map((d) => attempt(d, config, ring, media.get(d.id))));
  const records = attempts.filter((a): a is AttemptRecord & { delay: number | null } => a !== undefined);
  for (const d of claimed) {
    if (!records.some((r) => r.delivery.id === d.id)) retryAll([jobs.get(d.id)!], afterClaim); // could not even render it
  }
  try {
    await recordAttempts(db, records);
  } catch (e) {
    // The attempts happened but are not recorded: their claims run out and the messages come again, so an
    // endpoint may see a delivery twice (same webhook-id, which is what receivers deduplicate on).
    log('error', 'recording webhook attempts failed; retried', { count: records.length, error: errorText(e) });
    return retryAll(records.map((r) => jobs.get(r.delivery.id)!), afterClaim);
  }
  for (const r of records) {
    const [first, ...twins] = jobs.get(r.delivery.id)!;
    for (const m of twins) m.ack();
    if (r.delay === null) first!.ack();
    else first!.retry({ delaySeconds: r.delay });
  }
}

/** One attempt, and what becomes of the delivery; undefined when its body cannot be rendered now. */
async function attempt(delivery: ClaimedDelivery, config: WebhookConfig, ring: Keyring, media?: MessageView['media']): Promise<(AttemptRecord & { delay: number | null }) | undefined> {
  let body: string;
  let secrets: string[];
  try {
    body = await deliveryBody(delivery, media);
  } catch (e) {
    log('error', 'rendering a webhook delivery failed; retried', { delivery_id: delivery.id, error: errorText(e) });
    return undefined;
  }
  try {
    // Opened here, for this signature only.
    secrets = await Promise.all(delivery.storedSecrets.map((s) => openWebhookSecret(ring, delivery.connectionPk, s)));
  } catch (e) {
    log('error', 'a webhook secret does not open (sealed under a key not configured?); retried', { delivery_id: delivery.id, error: errorText(e) });
    return undefined;
  }
  const outcome = delivery.webhookUrl
    ? await attemptDelivery({
        url: delivery.webhookUrl,
        webhookId: webhookIdOf(delivery.id),
        body,
        secrets,
        timeoutMs: config.timeoutMs,
        policy: config.policy,
      })
    : { kind: 'refused' as const, statusCode: null, durationMs: 0, error: 'the connection has no webhook URL any more', responseExcerpt: null };
  const delay = outcome.kind === 'failed' ? retryDelaySeconds(config.schedule, delivery.roundAttempt) : null;
  return {
    delivery,
    payload: body,
    url: delivery.webhookUrl ?? '',
    state: outcome.kind === 'delivered' ? 'delivered' : outcome.kind === 'refused' ? 'failed' : delay === null ? 'dead' : 'retrying',
    statusCode: outcome.statusCode,
    durationMs: outcome.durationMs,
    error: outcome.error,
    responseExcerpt: outcome.responseExcerpt,
    nextAttemptAt: delay === null ? undefined : new Date(Date.now() + delay * 1000),
    delay,
  };
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
        log('error', 'settling a dead-lettered webhook failed; retried', { delivery_id: job.data.delivery_id, error: errorText(e) });
        msg.retry({ delaySeconds: ownFailureDelay(msg.attempts) });
      }
    }),
  );
}
