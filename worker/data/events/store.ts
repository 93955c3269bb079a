// How the events pipeline talks to Postgres: the two ways a batch is stored (one statement batch, or an
// interactive transaction), and the plumbing the statement builders share.
import { sql, type SQL } from 'drizzle-orm';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import type * as schema from '../../../drizzle/schema';
import { connections } from '../../../drizzle/schema';

/** Any drizzle Postgres database over our schema: neon-serverless in the Worker, node-postgres in tests. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventsDb = PgDatabase<any, typeof schema>;
export type Tx = Parameters<Parameters<EventsDb['transaction']>[0]>[0];

/** Rows per multi-row statement; keeps bind parameters far below Postgres' 65535. */
export const CHUNK = 1000;

/** A result row as the driver answers it (column names as in SQL; values as the driver parses them). */
export type Row = Record<string, unknown>;

/**
 * Where a batch is stored. Most batches (messages and receipts) are a fixed list of statements whose SQL
 * does not depend on what an earlier one read: `batch` runs them in order in one transaction, which over
 * Neon's HTTP driver is one round trip and no database session. A batch with lifecycle events folds them
 * over the connection's locked state in code, so it needs `interactive`, a transaction on a session.
 */
export interface EventsStore {
  batch(statements: SQL[]): Promise<Row[][]>;
  interactive<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
}

/** Statements to run in order, and how their results (one list of rows each) become the outcome. */
export interface Plan<T> {
  statements: SQL[];
  read(results: Row[][], ref: Ref): T;
}

export type Ref = (pk: string) => { tenantId: string; connectionPk: string; connectionId: string };

/** Keeps a statement to rows whose connection is the event's tenant's (the batch path cannot wait for the lock's answer). */
export const ownedBy = (pk: SQL, tenant: SQL) => sql`exists (select 1 from ${connections} c where c.id = ${pk} and c.tenant_id = ${tenant})`;

export const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
export const toMs = (iso: string) => new Date(iso);
