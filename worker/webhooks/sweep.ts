// The outbox sweep, run by a Cron Trigger every minute (wrangler.toml; locally the dev stack and tests
// call the same scheduled handler): deliveries due for longer than WEBHOOK_SWEEP_LATE_SECONDS that no
// attempt holds go (back) on the queue. That covers a Worker that died between committing a batch and
// enqueueing its deliveries, and a queue message lost or dropped. It also forgets what is older than
// WEBHOOK_RETENTION_DAYS (finished deliveries and log rows).
import { forgetOld, takeOverdue } from '../data/deliveries';
import { httpDb } from '../data/db';
import type { Env } from '../env';
import { webhookConfig } from './config';
import { enqueueDeliveries } from './enqueue';

/** Rows per sweep; a backlog larger than this drains over several minutes, oldest first. */
const SWEEP_LIMIT = 5_000;

export async function sweepDeliveries(env: Env): Promise<number> {
  const config = webhookConfig(env);
  const db = httpDb(env);
  await forgetOld(db, config.retentionDays, SWEEP_LIMIT);
  const ids = await takeOverdue(db, config.sweepLateSeconds, SWEEP_LIMIT);
  if (ids.length) {
    console.warn(JSON.stringify({ level: 'warn', msg: 'webhook sweep re-enqueued overdue deliveries', count: ids.length }));
    await enqueueDeliveries(env, ids);
  }
  return ids.length;
}
