// `npm run admin -- <command>`: operator tasks straight against Postgres (DATABASE_URL, or the running
// dev stack's database). Tenants manage their own API keys through the API; this is for operators.
import { parseArgs } from 'node:util';
import { apiKeyScopes, type ApiKeyScope } from '../protocol/auth';
import { randomBytes } from 'node:crypto';
import { and, asc, desc, eq, isNull, sql } from 'drizzle-orm';
import { apiKeys, authStateReads, deadEvents, tenantLimits, tenants, users } from '../drizzle/schema';
import { issueApiKey } from '../worker/auth/credentials';
import { openDb } from './lib/database';
import { resolveDatabaseUrl } from './lib/database-url';
import { createTenant } from './lib/tenants';
import { issueRunnerCredential, listRunnerCredentials, MAX_ACTIVE_PER_RUNNER, revokeRunnerCredentials } from './lib/runner-credentials';

const USAGE = `Usage: npm run admin -- <command> [options]

  create-tenant --name NAME --email EMAIL [--password PASSWORD]
      Creates a tenant with an admin user and an API key, and prints them.
  create-key --tenant TENANT_ID|EMAIL [--name NAME] [--scopes read,send,manage] [--expires-at ISO_DATE]
      Issues another API key for a tenant and prints it.
  list-tenants
      Lists tenants with their users and key counts.
  list-dead-events
      Runner events the pipeline could not store (events-dlq), oldest first: id, time, type, connection.
  redrive-events [--id ID]
      Puts dead-lettered events (all, or one) back on the events queue, within a minute (the Worker's sweep).
  set-limits --tenant TENANT_ID|EMAIL [--max-connections N] [--max-unlinked-sessions N] [--sends-per-minute N] [--media-in-max-bytes N]
      Overrides the Worker's quotas for one tenant (tenant_limits); "default" puts one back to the Worker's var.
      --media-in-max-bytes: the largest received file stored (default MEDIA_IN_MAX_BYTES, 64 MiB; at most 95 MiB).
      Prints the tenant's overrides.
  issue-runner-token --runner RUNNER_ID [--name NAME]
      Issues a runner's own credential (sbr_<runner id>_<secret>) and prints it once: the runner's
      RUNNER_TOKEN. Only its hash is stored. At most ${MAX_ACTIVE_PER_RUNNER} valid per runner (rotation).
  list-runner-tokens [--runner RUNNER_ID] [--all]
      Runner credentials (id, runner, name, hint, created; --all: revoked ones too).
  revoke-runner-token --id CREDENTIAL_ID | --runner RUNNER_ID
      Revokes one credential, or every one of a runner. Within SCHEDULER_RECONCILE_MS (5 s by default) it
      is refused everywhere and a link opened with it is closed.
  list-auth-reads [--connection CONNECTION_PK] [--runner RUNNER_ID]
      Who read a connection's auth state (WhatsApp keys) and when, newest first (last 1000).
  new-key [--id ID]
      Prints a fresh AES-256 key entry, ID:base64, for AUTH_STATE_KEYS or WEBHOOK_SECRET_KEYS (no database needed).
  webhook-secret-keys
      How many webhook secrets each key id seals ("plain": not sealed yet), to check a rotation is done.
`;

/** "default" → null (the Worker's var); else a whole number ≥ 0; undefined leaves the column as it is. */
function limitValue(name: string, v: string | undefined): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === 'default') return null;
  if (!/^\d+$/.test(v)) throw new Error(`--${name} takes a whole number or "default"`);
  return Number(v);
}

/** A tenant by its id or one of its users' emails. */
async function findTenant(db: ReturnType<typeof openDb>, idOrEmail: string): Promise<{ id: string }> {
  const byId = /^[0-9a-f-]{36}$/i.test(idOrEmail);
  const [tenant] = await db
    .selectDistinct({ id: tenants.id })
    .from(tenants)
    .leftJoin(users, eq(users.tenantId, tenants.id))
    .where(byId ? eq(tenants.id, idOrEmail) : eq(users.email, idOrEmail.toLowerCase()))
    .limit(1);
  if (!tenant) throw new Error(`no tenant ${idOrEmail}`);
  return tenant;
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: {
      name: { type: 'string' },
      scopes: { type: 'string' },
      'expires-at': { type: 'string' },
      email: { type: 'string' },
      password: { type: 'string' },
      tenant: { type: 'string' },
      id: { type: 'string' },
      'max-connections': { type: 'string' },
      'max-unlinked-sessions': { type: 'string' },
      'sends-per-minute': { type: 'string' },
      'media-in-max-bytes': { type: 'string' },
      runner: { type: 'string' },
      connection: { type: 'string' },
      all: { type: 'boolean' },
    },
  });
  if (!command || command === 'help' || command === '--help') {
    console.log(USAGE);
    return;
  }
  if (command === 'new-key') {
    const id = values.id ?? `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new Error('--id: 1 to 32 letters, digits, - or _');
    console.log(`${id}:${randomBytes(32).toString('base64')}`);
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
        const tenant = await findTenant(db, values.tenant);
        // The same choices POST /api/keys offers: scopes (default all) and an optional expiry in the future.
        const scopes = values.scopes === undefined ? [...apiKeyScopes] : values.scopes.split(',').map((x) => x.trim());
        const unknown = scopes.filter((x) => !(apiKeyScopes as readonly string[]).includes(x));
        if (!scopes.length || unknown.length) throw new Error(`--scopes takes a comma-separated list of ${apiKeyScopes.join(', ')}`);
        const expiresAt = values['expires-at'] === undefined ? null : new Date(values['expires-at']);
        if (expiresAt && (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= Date.now())) {
          throw new Error('--expires-at takes a date and time in the future (ISO 8601, e.g. 2027-01-31T00:00:00Z)');
        }
        const issued = await issueApiKey();
        await db.insert(apiKeys).values({
          tenantId: tenant.id,
          name: values.name ?? 'cli',
          prefix: issued.prefix,
          keyHash: issued.hash,
          scopes: [...new Set(scopes)] as ApiKeyScope[],
          expiresAt,
        });
        console.log(JSON.stringify({ tenant_id: tenant.id, api_key: issued.key, scopes: [...new Set(scopes)], expires_at: expiresAt?.toISOString() ?? null }, null, 2));
        break;
      }
      case 'set-limits': {
        if (!values.tenant) throw new Error(`set-limits needs --tenant\n\n${USAGE}`);
        const tenant = await findTenant(db, values.tenant);
        const set = Object.fromEntries(
          Object.entries({
            maxConnections: limitValue('max-connections', values['max-connections']),
            maxUnlinkedSessions: limitValue('max-unlinked-sessions', values['max-unlinked-sessions']),
            sendsPerMinute: limitValue('sends-per-minute', values['sends-per-minute']),
            mediaInMaxBytes: limitValue('media-in-max-bytes', values['media-in-max-bytes']),
          }).filter(([, v]) => v !== undefined),
        );
        const [row] = await db
          .insert(tenantLimits)
          .values({ tenantId: tenant.id, ...set })
          .onConflictDoUpdate({ target: tenantLimits.tenantId, set: { ...set, updatedAt: new Date() } })
          .returning();
        console.log(
          JSON.stringify(
            { tenant_id: tenant.id, max_connections: row!.maxConnections, max_unlinked_sessions: row!.maxUnlinkedSessions, sends_per_minute: row!.sendsPerMinute, media_in_max_bytes: row!.mediaInMaxBytes },
            null,
            2,
          ),
        );
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
      case 'issue-runner-token': {
        if (!values.runner) throw new Error(`issue-runner-token needs --runner\n\n${USAGE}`);
        const issued = await issueRunnerCredential(db, values.runner, { name: values.name ?? 'cli' });
        console.log(JSON.stringify({ credential_id: issued.credentialId, runner_id: issued.runnerId, name: issued.name, token: issued.token }, null, 2));
        console.error('Give the token to that runner as RUNNER_TOKEN; it is not shown again.');
        break;
      }
      case 'list-runner-tokens': {
        const rows = await listRunnerCredentials(db, { runnerId: values.runner, includeRevoked: values.all });
        for (const r of rows) {
          console.log(`${r.id}  ${r.runnerId}  ${r.name}  ${r.hint}  created ${r.createdAt.toISOString()}${r.revokedAt ? `  revoked ${r.revokedAt.toISOString()}` : ''}`);
        }
        console.log(`${rows.length} runner credential(s)`);
        break;
      }
      case 'revoke-runner-token': {
        if (!values.id === !values.runner) throw new Error(`revoke-runner-token needs --id or --runner (one of them)\n\n${USAGE}`);
        if (values.id && !/^[0-9a-f-]{36}$/i.test(values.id)) throw new Error('--id takes a credential id (list-runner-tokens)');
        const revoked = await revokeRunnerCredentials(db, values.id ? { ids: [values.id] } : { runnerId: values.runner });
        console.log(`${revoked.length} credential(s) revoked${revoked.length ? `: ${revoked.join(', ')}` : ''}; refused everywhere within the Scheduler's next pass (SCHEDULER_RECONCILE_MS, 5 s by default)`);
        break;
      }
      case 'list-auth-reads': {
        if (values.connection && !/^[0-9a-f-]{36}$/i.test(values.connection)) throw new Error('--connection takes a connection pk (uuid)');
        const rows = await db
          .select()
          .from(authStateReads)
          .where(
            and(
              values.connection ? eq(authStateReads.connectionPk, values.connection) : undefined,
              values.runner ? eq(authStateReads.runnerId, values.runner) : undefined,
            ),
          )
          .orderBy(desc(authStateReads.readAt), desc(authStateReads.id))
          .limit(1000);
        for (const r of rows) console.log(`${r.readAt.toISOString()}  runner ${r.runnerId}  credential ${r.credentialId}  connection ${r.connectionPk}  epoch ${r.epoch}`);
        console.log(`${rows.length} read(s)${rows.length === 1000 ? ' (latest 1000 shown)' : ''}`);
        break;
      }
      case 'webhook-secret-keys': {
        const rows = await db.execute<{ key_id: string; n: string }>(sql`
          select case when s like 'sealed:%' then split_part(s, ':', 2) else 'plain' end as key_id, count(*) as n
          from (select webhook_secret as s from connections union all
                select previous_webhook_secret from connections where previous_webhook_secret is not null) as secrets
          group by 1 order by 1`);
        for (const r of rows.rows) console.log(`${r.key_id}  ${r.n}`);
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
