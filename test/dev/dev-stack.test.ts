// `npm install && npm run dev` as a newcomer runs it: from a copy of the project in a folder only its
// owner may enter (root's home, a `mktemp -d`), under a path with a space, without DATABASE_URL (so on
// the embedded PostgreSQL), with the sandbox on. It must serve, stop on a supervisor's SIGTERM and on
// Ctrl-C leaving no process or port behind, and reuse its data on the next start. Run as root (as CI
// is), this is the case where PostgreSQL's own user cannot enter the project folder. It runs with the
// end-to-end files, one file at a time: a whole second stack beside the unit tests would starve the
// shared stack's runners of CPU on a 2-core machine.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachLine } from '../../scripts/lib/lines';
import { freePort, isPortFree } from '../../scripts/lib/ports';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const START_TIMEOUT_MS = 150_000;
const STOP_TIMEOUT_MS = 60_000;

let privateDir = '';
let project = '';
let ports: { api: number; postgres: number; emulator: number };
const apiKey = `sk_live_${randomBytes(24).toString('base64url')}`;
/** Where the embedded PostgreSQL keeps its data, as the dev stack reported it. */
let postgresData = '';

/** A copy of the working tree (tracked and new files) with node_modules hard-linked: fast, and the same packages. */
async function copyProject(to: string): Promise<void> {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && !f.startsWith('.data/'));
  await mkdir(to, { recursive: true });
  const tarball = execFileSync('tar', ['-c', '--null', '-T', '-', '-f', '-'], { cwd: ROOT, input: files.join('\0'), maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-f', '-', '-C', to], { input: tarball });
  execFileSync('cp', ['-al', path.join(ROOT, 'node_modules'), path.join(to, 'node_modules')]);
}

interface Dev {
  child: ChildProcess;
  output: string[];
  exited: Promise<number | string>;
}

function startDev(): Dev {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SANDBOX: '1',
    PORT: String(ports.api),
    EMBEDDED_PG_PORT: String(ports.postgres),
    EMULATOR_PORT: String(ports.emulator),
    BOOTSTRAP_API_KEY: apiKey,
  };
  delete env.DATABASE_URL;
  delete env.DATA_DIR;
  // Its own process group, as a terminal's foreground job is: Ctrl-C is a SIGINT to the whole group.
  const child = spawn('npm', ['run', 'dev'], { cwd: project, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  forEachLine([child.stdout, child.stderr], (line) => {
    output.push(line);
    const data = /embedded PostgreSQL on .* \(data in (.+)\)$/.exec(line);
    if (data) postgresData = data[1]!;
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return { child, output, exited };
}

async function waitFor(dev: Dev, text: string, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!dev.output.some((l) => l.includes(text))) {
    if (dev.child.exitCode !== null) throw new Error(`npm run dev exited before "${text}":\n${dev.output.join('\n')}`);
    if (Date.now() > deadline) throw new Error(`no "${text}" within ${timeoutMs} ms:\n${dev.output.join('\n')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const api = (method: string, route: string, body?: unknown) =>
  fetch(`http://127.0.0.1:${ports.api}${route}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });

/** Processes still running from this copy: its path, or its database folder, on their command line. */
async function leftovers(): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
    if (cmdline.includes(project) || cwd.startsWith(project) || (postgresData && cmdline.includes(postgresData))) found.push(`${pid}: ${cmdline}`);
  }
  return found;
}

async function expectNothingLeft(): Promise<void> {
  // The stop is over once npm has exited; give the kernel a moment to reap what went with it.
  await new Promise((r) => setTimeout(r, 500));
  expect(await leftovers()).toEqual([]);
  for (const port of Object.values(ports)) expect(await isPortFree(port), `port ${port} is still taken`).toBe(true);
}

async function stop(dev: Dev, send: () => void): Promise<number | string> {
  send();
  const timer = setTimeout(() => process.kill(-dev.child.pid!, 'SIGKILL'), STOP_TIMEOUT_MS);
  const code = await dev.exited;
  clearTimeout(timer);
  return code;
}

beforeAll(async () => {
  // Under the project (same file system, so node_modules can be hard-linked), in a folder of mode 0700.
  await mkdir(path.join(ROOT, '.data'), { recursive: true });
  privateDir = await mkdtemp(path.join(ROOT, '.data', 'private-'));
  project = path.join(privateDir, 'switch board');
  await copyProject(project);
  ports = { api: await freePort(), postgres: await freePort(), emulator: await freePort() };
}, 120_000);

afterAll(async () => {
  for (const line of await leftovers()) process.kill(Number(line.split(':')[0]), 'SIGKILL');
  // A database moved out of the private folder (root's case) goes with the copy.
  if (postgresData && !postgresData.startsWith(project)) {
    await rm(postgresData, { recursive: true, force: true });
    await rm(`${postgresData}.owner`, { force: true });
  }
  if (privateDir) await rm(privateDir, { recursive: true, force: true });
});

describe('npm run dev from a private folder with a space in its path', () => {
  it('serves, stops on SIGTERM without leftovers, restarts on the same data and stops on Ctrl-C', { timeout: 2 * START_TIMEOUT_MS + 3 * STOP_TIMEOUT_MS }, async () => {
    const first = startDev();
    await waitFor(first, 'Switchboard is running');
    expect(first.output.join('\n')).toContain('First run: created');
    if (process.getuid?.() === 0) {
      // PostgreSQL's user cannot enter the private folder, so the data went elsewhere, and it was said.
      expect(postgresData.startsWith(project)).toBe(false);
      expect(first.output.some((l) => l.includes('cannot enter') && l.includes(postgresData))).toBe(true);
    }
    const created = await api('POST', '/api/connections', { connection_id: 'kept-across-restarts' });
    expect(created.status).toBe(201);
    // SANDBOX=1: the Worker was given the emulator's control URL, so /api/sandbox acts through it.
    const sandbox = await api('GET', '/api/sandbox');
    expect(await sandbox.json()).toEqual({ enabled: true, phones: [], contacts: [] });

    // The dashboard is built and served, deep links included (the SPA fallback), and rebuilt on change.
    const page = await (await api('GET', '/messages/kept-across-restarts')).text();
    expect(page).toContain('<div id="root"></div>');
    const bundle = async (html: string) => (await api('GET', html.match(/src="(\/assets\/[^"]+\.js)"/)![1]!)).text();
    expect(await bundle(page)).toContain('Log in to Switchboard');
    const login = path.join(project, 'dashboard/src/pages/login.tsx');
    await writeFile(login, (await readFile(login, 'utf8')).replace('Log in to Switchboard', 'Log in to Switchboard (edited)'));
    await waitFor(first, 'dashboard rebuilt');
    // wrangler dev reloads the Worker a moment after new files are written (a request caught in the
    // reload is cut off, as a browser would see on a reload at that instant); until then the old ones are served.
    const deadline = Date.now() + 15_000;
    let served = '';
    while (!served.includes('Log in to Switchboard (edited)') && Date.now() < deadline) {
      served = await api('GET', '/').then((r) => r.text()).then(bundle).catch(() => '');
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(served).toContain('Log in to Switchboard (edited)');
    // The edit rebuilt it (once, or twice for the two writes a save can be), and then it rests: nothing the
    // build or the stack writes (this copy has no .git to say what to ignore) sets it off again.
    const rebuilds = () => first.output.filter((l) => l.includes('dashboard rebuilt')).length;
    await new Promise((r) => setTimeout(r, 3000));
    const settled = rebuilds();
    expect(settled).toBeLessThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 3000));
    expect(rebuilds()).toBe(settled);

    // What `timeout`, `docker stop` and systemd send, to npm itself.
    const code = await stop(first, () => first.child.kill('SIGTERM'));
    expect(code, first.output.slice(-20).join('\n')).toBe(0);
    await expectNothingLeft();

    const second = startDev();
    await waitFor(second, 'Switchboard is running');
    expect(second.output.join('\n')).toContain('Credentials from the first run');
    const kept = await api('GET', '/api/connections/kept-across-restarts');
    expect(kept.status).toBe(200);

    // A terminal's Ctrl-C: SIGINT to the foreground process group (npm and the dev stack alike).
    await stop(second, () => process.kill(-second.child.pid!, 'SIGINT'));
    expect(second.output.join('\n')).toContain('SIGINT: stopping');
    await expectNothingLeft();
  });
});
