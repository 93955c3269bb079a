// Database chores against a real server (DATABASE_URL, else an embedded PostgreSQL of this file's own):
// dropping a database that test harnesses still hold connections to must never surface as an error
// nobody handles, which Vitest counts as a failed run.
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase, openDb } from './database';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './embedded-postgres';
import { freePort } from './ports';

let serverUrl = '';
let embedded: EmbeddedPostgresHandle | undefined;

beforeAll(async () => {
  if (process.env.DATABASE_URL) serverUrl = process.env.DATABASE_URL;
  else {
    embedded = await startEmbeddedPostgres('.data/unit-postgres-database', await freePort());
    serverUrl = embedded.url;
  }
});
afterAll(async () => {
  await embedded?.stop();
});

const exists = async (name: string) => {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return (await client.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
};

describe('dropping a database', () => {
  it('drops one whose pool still holds an idle connection, without an unhandled error', async () => {
    const name = `sb_drop_idle_${process.pid}_${Date.now().toString(36)}`;
    const db = openDb(await createDatabase(serverUrl, name));
    await db.execute(sql`select 1`);
    // The pool keeps its connection; the drop waits for it, then terminates it (SQLSTATE 57P01).
    await dropDatabase(serverUrl, name);
    expect(await exists(name)).toBe(false);
    // Give the terminated connection's error time to reach the pool (and, without a listener, Vitest).
    await new Promise((r) => setTimeout(r, 200));
    await db.$client.end();
  });

  it('waits for connections that are still closing instead of terminating them', async () => {
    const name = `sb_drop_closing_${process.pid}_${Date.now().toString(36)}`;
    const url = await createDatabase(serverUrl, name);
    const clients = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        return client;
      }),
    );
    const errors: unknown[] = [];
    for (const c of clients) c.on('error', (e) => errors.push(e));
    const ended = Promise.all(clients.map((c) => c.end()));
    await dropDatabase(serverUrl, name);
    await ended;
    expect(errors).toEqual([]);
    expect(await exists(name)).toBe(false);
  });
});
