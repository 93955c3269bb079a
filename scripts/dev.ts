// `npm run dev`: the whole system on this machine with embedded defaults. Starts PostgreSQL (embedded,
// data in .data/postgres, unless DATABASE_URL is set), applies migrations, creates the first tenant on
// first run, and runs the Worker in workerd on http://localhost:5000 (PORT overrides). Ctrl-C stops it all.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDb } from './lib/database';
import { isPortFree } from './lib/ports';
import { startStack, type Stack } from './lib/stack';
import { createTenant, ensureBootstrapKey, tenantCount, type NewTenant } from './lib/tenants';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DATA = path.resolve(ROOT, process.env.DATA_DIR ?? '.data');
const CREDENTIALS_FILE = path.join(DATA, 'first-run-credentials.json');
const STACK_FILE = path.join(DATA, 'stack.json');
const port = Number(process.env.PORT ?? 5000);
const sandbox = ['1', 'true', 'yes'].includes((process.env.SANDBOX ?? '').toLowerCase());
const allowPrivateTargets = process.env.ALLOW_PRIVATE_WEBHOOK_TARGETS ?? 'true';
const allowPrivateMedia = process.env.ALLOW_PRIVATE_MEDIA_SOURCES ?? 'true';

async function firstRun(databaseUrl: string): Promise<NewTenant | undefined> {
  const db = openDb(databaseUrl);
  try {
    if ((await tenantCount(db)) > 0) {
      if (process.env.BOOTSTRAP_API_KEY) await ensureBootstrapKey(db, process.env.BOOTSTRAP_API_KEY);
      return undefined;
    }
    const tenant = await createTenant(db, {
      name: process.env.BOOTSTRAP_TENANT_NAME ?? 'Default tenant',
      email: process.env.BOOTSTRAP_ADMIN_EMAIL ?? 'admin@localhost.test',
      password: process.env.BOOTSTRAP_ADMIN_PASSWORD,
      apiKey: process.env.BOOTSTRAP_API_KEY,
    });
    // Local development only: keep the first credentials so a restart can show them again.
    await writeFile(CREDENTIALS_FILE, JSON.stringify(tenant, null, 2));
    await chmod(CREDENTIALS_FILE, 0o600);
    return tenant;
  } finally {
    await db.$client.end();
  }
}

let stack: Stack | undefined;
/** When stopping began; a repeat within FORCE_AFTER_MS is the same stop (npm forwards the terminal's Ctrl-C too). */
let stoppingSince = 0;
const FORCE_AFTER_MS = 2000;

/**
 * Ctrl-C (SIGINT), a supervisor's SIGTERM (`timeout`, `docker stop`, systemd), a closed terminal (SIGHUP)
 * and a parent that went away all stop everything: runners drain, the Worker stops, then Postgres. A second
 * signal while stopping, or one during start-up, exits at once; the children are then signalled by their
 * exit hooks (killGroupOnExit), so nothing is left holding the ports.
 */
async function shutdown(reason: string): Promise<void> {
  if (stoppingSince && Date.now() - stoppingSince < FORCE_AFTER_MS) return;
  if (stoppingSince || !stack) {
    console.log(`\n${reason}: ${stack ? 'stopping at once' : 'stopping before start-up finished'}`);
    process.exit(1);
  }
  stoppingSince = Date.now();
  console.log(`\n${reason}: stopping… (again to force)`);
  await stack.stop();
  await writeFile(STACK_FILE, '{}').catch(() => {});
  process.exit(0);
}

function stopWithParent(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(signal));
  // npm forwards SIGTERM to this process (the script execs it), but a parent killed outright forwards
  // nothing: this process is then re-parented, which is checked for every second.
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    void shutdown('parent process exited');
  }, 1000).unref();
}

async function main() {
  stopWithParent();
  await mkdir(DATA, { recursive: true });
  if (!(await isPortFree(port))) {
    console.error(`Port ${port} is taken: is another \`npm run dev\` running? Set PORT to use another one.`);
    process.exit(1);
  }
  console.log('Starting Switchboard…');
  let created: NewTenant | undefined;
  stack = await startStack({
    dataDir: DATA,
    port,
    databaseUrl: process.env.DATABASE_URL,
    embeddedPostgresPort: Number(process.env.EMBEDDED_PG_PORT ?? 5433),
    vars: {
      // A local stack's webhooks usually go to a server on this machine; production refuses that by default.
      ALLOW_PRIVATE_WEBHOOK_TARGETS: allowPrivateTargets,
      // …and so do the files it sends by URL.
      ALLOW_PRIVATE_MEDIA_SOURCES: allowPrivateMedia,
      // The runners dial 127.0.0.1; media links must be under that origin even when the API is called as localhost.
      CONTROL_PLANE_URL: `http://127.0.0.1:${port}`,
      ...(process.env.MAX_MEDIA_BYTES ? { MAX_MEDIA_BYTES: process.env.MAX_MEDIA_BYTES } : {}),
      ...(process.env.MAX_BODY_BYTES ? { MAX_BODY_BYTES: process.env.MAX_BODY_BYTES } : {}),
    },
    beforeWorker: async (url) => {
      created = await firstRun(url);
    },
    runners: Number(process.env.RUNNERS ?? 1),
    // Edits to dashboard/ (or protocol/) are rebuilt into dashboard/dist and served on the next page load.
    dashboard: 'watch',
    sandbox: sandbox ? { port: Number(process.env.EMULATOR_PORT ?? 5800), dataFile: path.join(DATA, 'sandbox.json') } : undefined,
  });
  await writeFile(STACK_FILE, JSON.stringify({ databaseUrl: stack.databaseUrl, url: stack.url, pid: process.pid }));

  const shown: Partial<NewTenant> | undefined =
    created ?? (await readFile(CREDENTIALS_FILE, 'utf8').then((t) => JSON.parse(t), () => undefined));
  const url = `http://localhost:${port}`;
  const key = process.env.BOOTSTRAP_API_KEY ?? shown?.apiKey ?? '<your API key>';
  console.log(`
  Switchboard is running at ${url}
  Dashboard:      ${url}  (log in with the dashboard login below)
  API reference:  ${url}/api/docs
${shown ? `
  ${created ? 'First run: created' : 'Credentials from the first run'} (kept in ${path.relative(ROOT, CREDENTIALS_FILE)}):
    dashboard login  ${shown.email} / ${shown.password}
    API key          ${shown.apiKey}
` : ''}
  Try it:
    curl -X POST ${url}/api/connections -H "Authorization: Bearer ${key}" \\
      -H "Content-Type: application/json" -d '{"connection_id": "user123"}'
    curl ${url}/api/connections -H "Authorization: Bearer ${key}"

${
    stack.emulator
      ? `  Sandbox (SANDBOX=1): runners talk to an emulated WhatsApp, not the real one. In the dashboard, the
  Sandbox page is the phone and its contacts (scan a connection's QR, write as a contact). Or by hand:
    curl -X POST ${stack.emulator.controlUrl}/accounts -H 'Content-Type: application/json' -d '{"phone": "15550001111", "name": "My phone"}'
    curl -X POST ${stack.emulator.controlUrl}/accounts/15550001111/scan -H 'Content-Type: application/json' -d '{"qr": "<qr_raw from get-qr>"}'
    curl -X POST ${stack.emulator.controlUrl}/contacts -H 'Content-Type: application/json' -d '{"phone": "15550002222", "name": "Alice"}'
`
      : `  Runners connect to WhatsApp: scan the QR from get-qr with your phone (SANDBOX=1 uses an emulated phone instead).
`
  }
  Webhooks: signed (Standard Webhooks), retried, logged; docs/webhooks.md.${allowPrivateTargets === 'true' ? `
    Local targets such as http://127.0.0.1:9000/hook are allowed here (ALLOW_PRIVATE_WEBHOOK_TARGETS=true, dev only).` : ''}
  More tenants and keys: npm run admin -- help        Stop: Ctrl-C
`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
