// `npm run admin -- <command>`: operator tasks straight against Postgres (DATABASE_URL, or the running
// dev stack's database). Tenants manage their own API keys through the API; this is for operators.
import { parseArgs } from 'node:util';
import { asc, desc, eq, isNull } from 'drizzle-orm';
import { apiKeys, deadEvents, tenants, users } from '../drizzle/schema';
import { issueApiKey } from '../worker/auth/credentials';
import { openDb } from './lib/database';
import { resolveDatabaseUrl } from './lib/database-url';
import { createTenant } from './lib/tenants';

const USAGE = `Usage: npm run admin -- <command> [options]

  create-tenant --name NAME --email EMAIL [--password PASSWORD]
      Creates a tenant with an admin user and an API key, and prints them.
  create-key --tenant TENANT_ID|EMAIL [--name NAME]
      Issues another API key for a tenant and prints it.
  list-tenants
      Lists tenants with their users and key counts.
  list-dead-events
      Runner events the pipeline could not store (events-dlq), oldest first: id, time, type, connection.
  redrive-events [--id ID]
      Puts dead-lettered events (all, or one) back on the events queue, within a minute (the Worker's sweep).
`;

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: { name: { type: 'string' }, email: { type: 'string' }, password: { type: 'string' }, tenant: { type: 'string' }, id: { type: 'string' } },
  });
  if (!command || command === 'help' || command === '--help') {
    console.log(USAGE);
    return;
  }
  const db = openDb(await resolveDatabaseUrl());
  try {
    switch (command) {
      case 'create-tenant': {
        if (!values.name || !values.email) throw new Error(`create-tenant needs --name and --email\n\n${USAGE}`);
        const t = await createTenant(db, { name: values.name, email: values.email, password: values.password });
        console.log(JSON.stringify({ tenant_id: t.tenantId, name: t.name, email: t.email, password: t.password, api_key: t.apiKey }, null, 2));
        break;
      }
      case 'create-key': {
        if (!values.tenant) throw new Error(`create-key needs --tenant\n\n${USAGE}`);
        const byId = /^[0-9a-f-]{36}$/i.test(values.tenant);
        const [tenant] = await db
          .selectDistinct({ id: tenants.id })
          .from(tenants)
          .leftJoin(users, eq(users.tenantId, tenants.id))
          .where(byId ? eq(tenants.id, values.tenant) : eq(users.email, values.tenant.toLowerCase()))
          .limit(1);
        if (!tenant) throw new Error(`no tenant ${values.tenant}`);
        const issued = await issueApiKey();
        await db.insert(apiKeys).values({ tenantId: tenant.id, name: values.name ?? 'cli', prefix: issued.prefix, keyHash: issued.hash });
        console.log(JSON.stringify({ tenant_id: tenant.id, api_key: issued.key }, null, 2));
        break;
      }
      case 'list-tenants': {
        const rows = await db
          .select({ id: tenants.id, name: tenants.name, createdAt: tenants.createdAt, email: users.email })
          .from(tenants)
          .leftJoin(users, eq(users.tenantId, tenants.id))
          .orderBy(desc(tenants.createdAt));
        for (const r of rows) console.log(`${r.id}  ${r.name}  ${r.email ?? '-'}  ${r.createdAt.toISOString()}`);
        break;
      }
      case 'list-dead-events': {
        const rows = await db.select().from(deadEvents).orderBy(asc(deadEvents.id)).limit(1000);
        for (const r of rows) {
          const b = r.body as { connection_pk?: string; event?: { type?: string; id?: string }; spilled?: { type?: string } };
          const type = b.event?.type ?? b.spilled?.type ?? '?';
          console.log(`${r.id}  ${r.createdAt.toISOString()}  ${type}  ${b.event?.id ?? '(spilled)'}  connection ${b.connection_pk ?? '?'}  attempts ${r.attempts}${r.redriveRequestedAt ? '  (redrive asked)' : ''}`);
        }
        console.log(`${rows.length} dead-lettered event(s)${rows.length === 1000 ? ' (first 1000 shown)' : ''}`);
        break;
      }
      case 'redrive-events': {
        if (values.id !== undefined && !/^\d+$/.test(values.id)) throw new Error('--id takes a dead event id (list-dead-events)');
        const marked = await db
          .update(deadEvents)
          .set({ redriveRequestedAt: new Date() })
          .where(values.id === undefined ? isNull(deadEvents.redriveRequestedAt) : eq(deadEvents.id, Number(values.id)))
          .returning({ id: deadEvents.id });
        console.log(`${marked.length} event(s) marked; the Worker's sweep puts them back on the events queue within a minute`);
        break;
      }
      default:
        throw new Error(`unknown command ${command}\n\n${USAGE}`);
    }
  } finally {
    await db.$client.end();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
