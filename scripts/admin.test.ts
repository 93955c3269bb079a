// The operator CLI against a real database, run as an operator runs it (a process with DATABASE_URL).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { apiKeys } from '../drizzle/schema';
import { useFileDatabase } from '../test/harness/file-database';

const fileDb = useFileDatabase('admin');
const ROOT = path.resolve(import.meta.dirname, '..');

function admin(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/admin.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: fileDb.url },
    encoding: 'utf8',
  });
  return { status: run.status, out: run.stdout, err: run.stderr };
}

describe('npm run admin -- create-key', () => {
  it('issues a key with the scopes and expiry asked for (all scopes, no expiry by default), and refuses nonsense', () => {
    const tenant = admin('create-tenant', '--name', 'Ops', '--email', `ops-${process.pid}@example.test`);
    expect(tenant.status, tenant.err).toBe(0);
    const { tenant_id } = JSON.parse(tenant.out);

    const at = new Date(Date.now() + 86_400_000).toISOString();
    const narrow = admin('create-key', '--tenant', tenant_id, '--name', 'reader', '--scopes', 'read,send', '--expires-at', at);
    expect(narrow.status, narrow.err).toBe(0);
    expect(JSON.parse(narrow.out)).toMatchObject({ scopes: ['read', 'send'], expires_at: at });
    const wide = admin('create-key', '--tenant', tenant_id, '--name', 'all');
    expect(JSON.parse(wide.out)).toMatchObject({ scopes: ['read', 'send', 'manage'], expires_at: null });

    for (const [args, why] of [
      [['--scopes', 'read,admin'], /--scopes takes/],
      [['--scopes', ''], /--scopes takes/],
      [['--expires-at', '2020-01-01T00:00:00Z'], /--expires-at takes/],
      [['--expires-at', 'tomorrow'], /--expires-at takes/],
    ] as const) {
      const refused = admin('create-key', '--tenant', tenant_id, ...args);
      expect(refused.status, args.join(' ')).not.toBe(0);
      expect(refused.err).toMatch(why);
    }
    return fileDb.db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.name, 'reader'))
      .then(([row]) => expect(row).toMatchObject({ scopes: ['read', 'send'], expiresAt: new Date(at) }));
  }, 60_000);
});
