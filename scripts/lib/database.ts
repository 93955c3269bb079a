// Database chores shared by the dev stack, the test harness and the admin CLI: create a database,
// apply the drizzle migrations, open a node-postgres drizzle handle.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import * as schema from '../../drizzle/schema';

const MIGRATIONS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../drizzle/migrations');

export type NodeDb = NodePgDatabase<typeof schema> & { $client: pg.Pool };

/** SQLSTATE of a connection the server ended on purpose (a forced drop, a shutdown). */
const TERMINATED_BY_ADMINISTRATOR = '57P01';

export function openDb(url: string): NodeDb {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // An idle connection that drops is emitted here (and would otherwise crash the process); the pool opens
  // another on next use. One ended by the server on purpose is expected at shutdown and not worth a word.
  pool.on('error', (e: Error & { code?: string }) => {
    if (e.code !== TERMINATED_BY_ADMINISTRATOR) console.warn(`postgres: idle connection dropped: ${e.message}`);
  });
  return drizzle(pool, { schema }) as NodeDb;
}

export async function applyMigrations(url: string): Promise<void> {
  const db = openDb(url);
  try {
    await migrate(db, { migrationsFolder: MIGRATIONS });
  } finally {
    await db.$client.end();
  }
}

/** Returns `url` with its database name replaced. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function createDatabase(serverUrl: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe database name: ${name}`);
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
  return withDatabase(serverUrl, name);
}

/** How long a drop waits for the database's remaining connections to close by themselves. */
const DROP_WAIT_MS = 5000;

export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe database name: ${name}`);
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    // pg's Pool.end() resolves before its connections have said goodbye; `with (force)` would terminate
    // them mid-way, which their clients raise as an error nobody listens for any more. Let them finish first.
    const deadline = Date.now() + DROP_WAIT_MS;
    while (Date.now() < deadline) {
      const { rows } = await client.query<{ n: number }>(
        'select count(*)::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
        [name],
      );
      if (rows[0]!.n === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await client.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await client.end();
  }
}
