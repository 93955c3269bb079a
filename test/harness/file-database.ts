// A fresh, migrated database for one unit-test file: on the server in DATABASE_URL, else on an embedded
// PostgreSQL of the file's own (each file its own data directory, as test files run in parallel), with
// the local Neon proxy in front of it so the Worker's own driver code can be exercised from Node.
import { afterAll, beforeAll } from 'vitest';
import { applyMigrations, createDatabase, dropDatabase, openDb, type NodeDb } from '../../scripts/lib/database';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../scripts/lib/embedded-postgres';
import { startNeonProxy, type NeonProxy } from '../../scripts/lib/neon-proxy';
import { freePort } from '../../scripts/lib/ports';

export interface FileDatabase {
  /** Connection string of the fresh database. */
  url: string;
  /** A node-postgres drizzle handle on it, to arrange and inspect rows. */
  db: NodeDb;
  /** host:port of a Neon proxy in front of it (the Worker's NEON_WS_PROXY). */
  proxy: string;
  /** What that proxy served so far (NeonProxy.served). */
  served(): { sessions: number; httpQueries: number };
}

/** Registers beforeAll/afterAll hooks; the returned object is filled in before the file's tests run. */
export function useFileDatabase(label: string): FileDatabase {
  const handle = {} as FileDatabase;
  const name = `${label}_${process.pid}_${Date.now().toString(36)}`;
  let serverUrl = '';
  let embedded: EmbeddedPostgresHandle | undefined;
  let proxy: NeonProxy | undefined;

  beforeAll(async () => {
    if (process.env.DATABASE_URL) serverUrl = process.env.DATABASE_URL;
    else {
      embedded = await startEmbeddedPostgres(`.data/unit-postgres-${label}`, await freePort());
      serverUrl = embedded.url;
    }
    handle.url = await createDatabase(serverUrl, name);
    await applyMigrations(handle.url);
    handle.db = openDb(handle.url);
    proxy = await startNeonProxy();
    handle.proxy = proxy.address;
    handle.served = proxy.served;
  });

  afterAll(async () => {
    await proxy?.close();
    await handle.db?.$client.end();
    if (serverUrl) await dropDatabase(serverUrl, name);
    await embedded?.stop();
  });

  return handle;
}
