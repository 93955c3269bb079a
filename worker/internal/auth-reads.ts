// The record of auth-state reads (auth_state_reads: runner, credential, connection, epoch, when; never
// what was read) is kept AUTH_READ_RETENTION_DAYS (default 90); the cron sweep forgets older rows.
import { lt, sql } from 'drizzle-orm';
import { authStateReads } from '../../drizzle/schema';
import { httpDb } from '../data/db';
import type { Env } from '../env';

const DEFAULT_RETENTION_DAYS = 90;

export async function forgetOldAuthReads(env: Env): Promise<void> {
  const days = Number(env.AUTH_READ_RETENTION_DAYS);
  const keep = Number.isFinite(days) && days > 0 ? days : DEFAULT_RETENTION_DAYS;
  await httpDb(env)
    .delete(authStateReads)
    .where(lt(authStateReads.readAt, sql`now() - make_interval(days => ${keep})`));
}
