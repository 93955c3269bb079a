// Calls offered to a connection, as stored by the event consumer (events/calls.ts): read back newest first.
import { and, desc, eq, type SQL } from 'drizzle-orm';
import { calls } from '../../drizzle/schema';
import type { Db } from './db';
import { olderThan, type Cursor } from './pagination';

/** A page of the connection's calls, newest placed first (then by call id), older than `before`. */
export async function listCalls(db: Db, connectionPk: string, limit: number, before?: Cursor) {
  const where: SQL[] = [eq(calls.connectionPk, connectionPk)];
  if (before) where.push(olderThan(calls.timestamp, calls.callId, before));
  return db
    .select()
    .from(calls)
    .where(and(...where))
    .orderBy(desc(calls.timestamp), desc(calls.callId))
    .limit(limit);
}
