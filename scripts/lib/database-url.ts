// Which database operator tools talk to: DATABASE_URL, else the one a running `npm run dev` uses.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function resolveDatabaseUrl(): Promise<string> {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const file = path.join(ROOT, process.env.DATA_DIR ?? '.data', 'stack.json');
  const stack = await readFile(file, 'utf8').then((t) => JSON.parse(t) as { databaseUrl?: string }, () => ({}) as { databaseUrl?: string });
  if (stack.databaseUrl) return stack.databaseUrl;
  throw new Error('Set DATABASE_URL, or start `npm run dev` (its embedded database is used while it runs).');
}
