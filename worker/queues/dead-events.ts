// `events-dlq`: runner events the events consumer could not store within its retries (a poison event
// Postgres keeps refusing, or an outage longer than the retries) are kept in Postgres (`dead_events`)
// for an operator to look at, instead of vanishing with the queue's retention. `npm run admin --
// redrive-events` marks them; the every-minute sweep puts marked ones back on `events` (storage is
// idempotent, so a redriven event that did get stored after all changes nothing).
import { errorText } from '../lib/error-text';
import { sql } from 'drizzle-orm';
import { deadEvents } from '../../drizzle/schema';
import { httpDb } from '../data/db';
import type { Env } from '../env';
import { sendWithinLimits } from './limits';
import { retryDelaySeconds } from './events';

/** Rows put back per sweep. */
const REDRIVE_LIMIT = 1_000;

export async function consumeDeadEvents(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const rows = batch.messages.map((m) => sql`(${JSON.stringify(m.body)}::jsonb, ${m.attempts}::int)`);
  try {
    await httpDb(env).execute(sql`insert into ${deadEvents} (body, attempts) values ${sql.join(rows, sql`, `)}`);
  } catch (e) {
    // Not acknowledged before Postgres has them: this queue retries too.
    const attempts = Math.max(...batch.messages.map((m) => m.attempts));
    console.error(JSON.stringify({ level: 'error', msg: 'storing dead-lettered events failed; retried', count: rows.length, error: errorText(e) }));
    batch.retryAll({ delaySeconds: retryDelaySeconds(attempts) });
    return;
  }
  console.warn(JSON.stringify({ level: 'warn', msg: 'runner events dead-lettered; kept in dead_events (npm run admin -- list-dead-events)', count: rows.length }));
  batch.ackAll();
}

/** Puts events an operator marked for redrive back on the `events` queue; answers how many. */
export async function redriveDeadEvents(env: Env): Promise<number> {
  const db = httpDb(env);
  const marked = await db.execute<{ id: string; body: unknown }>(
    sql`select id, body from ${deadEvents} where redrive_requested_at is not null order by id limit ${REDRIVE_LIMIT}`,
  );
  if (marked.rows.length === 0) return 0;
  // Sent first, deleted after: a failure in between sends some twice, which storage shrugs off.
  await sendWithinLimits(env.EVENTS, marked.rows.map((r) => r.body));
  await db.execute(sql`delete from ${deadEvents} where id in (${sql.join(marked.rows.map((r) => sql`${r.id}::bigint`), sql`, `)})`);
  return marked.rows.length;
}
