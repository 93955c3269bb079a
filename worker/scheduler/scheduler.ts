// Scheduler Durable Object: the single authority on which runner holds which WhatsApp connection.
// This first version declares the object, its binding and its SQLite tables; the runner registry,
// leases with fencing epochs and command routing are built on this (issue: runners and the Scheduler).
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';

export class Scheduler extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS runners (
        runner_id TEXT PRIMARY KEY,
        capacity INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        draining INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE IF NOT EXISTS leases (
        connection_pk TEXT PRIMARY KEY,
        runner_id TEXT,
        epoch INTEGER NOT NULL DEFAULT 0,
        granted_at INTEGER
      );
    `);
  }

  /** Number of runners currently registered (used by health checks). */
  async runnerCount(): Promise<number> {
    const row = this.ctx.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM runners').one();
    return row.n;
  }
}
