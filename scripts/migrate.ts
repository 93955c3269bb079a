// `npm run db:migrate`: applies drizzle/migrations to DATABASE_URL (or the running dev stack's database).
import { applyMigrations } from './lib/database';
import { resolveDatabaseUrl } from './lib/database-url';

const url = await resolveDatabaseUrl();
await applyMigrations(url);
console.log('migrations applied');
