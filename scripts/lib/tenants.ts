// Creating tenants with their first admin user and API key: used by the dev stack's first run, the admin
// CLI and the test harness. Writes straight to Postgres (operators' tooling, not the tenant API).
import { randomBytes } from 'node:crypto';
import { count, eq } from 'drizzle-orm';
import { apiKeys, tenants, users } from '../../drizzle/schema';
import { hashPassword, issueApiKey, sha256Hex } from '../../worker/auth/credentials';
import type { NodeDb } from './database';

export interface NewTenant {
  tenantId: string;
  name: string;
  email: string;
  password: string;
  apiKey: string;
}

export async function createTenant(
  db: NodeDb,
  opts: { name: string; email: string; password?: string; apiKey?: string; keyName?: string },
): Promise<NewTenant> {
  const password = opts.password ?? randomBytes(12).toString('base64url');
  const issued = await issueApiKey(opts.apiKey);
  const passwordHash = await hashPassword(password);
  const email = opts.email.toLowerCase();
  return db.transaction(async (tx) => {
    const [tenant] = await tx.insert(tenants).values({ name: opts.name }).returning();
    await tx.insert(users).values({ tenantId: tenant!.id, email, passwordHash, role: 'admin' });
    await tx.insert(apiKeys).values({
      tenantId: tenant!.id,
      name: opts.keyName ?? 'bootstrap',
      prefix: issued.prefix,
      keyHash: issued.hash,
    });
    return { tenantId: tenant!.id, name: opts.name, email, password, apiKey: issued.key };
  });
}

export async function tenantCount(db: NodeDb): Promise<number> {
  const [row] = await db.select({ n: count() }).from(tenants);
  return row?.n ?? 0;
}

/** Adds `key` to the oldest tenant unless some tenant already has it (BOOTSTRAP_API_KEY on later starts). */
export async function ensureBootstrapKey(db: NodeDb, key: string): Promise<void> {
  const hash = await sha256Hex(key);
  const [existing] = await db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.keyHash, hash)).limit(1);
  if (existing) return;
  const [first] = await db.select({ id: tenants.id }).from(tenants).orderBy(tenants.createdAt).limit(1);
  if (!first) return;
  const issued = await issueApiKey(key);
  await db.insert(apiKeys).values({ tenantId: first.id, name: 'bootstrap', prefix: issued.prefix, keyHash: issued.hash });
}
