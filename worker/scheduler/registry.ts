// The Scheduler's own state, in its SQLite storage: which runners exist and which runner holds which
// connection under which epoch. Only the Scheduler Durable Object touches it.

import type { LeaseRow, RunnerRow } from './types';

export class Registry {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS runners (
        runner_id TEXT PRIMARY KEY,
        capacity INTEGER NOT NULL,
        connected INTEGER NOT NULL DEFAULT 1,
        draining INTEGER NOT NULL DEFAULT 0,
        last_seen_at INTEGER NOT NULL,
        disconnected_at INTEGER
      );
      CREATE TABLE IF NOT EXISTS leases (
        connection_pk TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        connection_id TEXT NOT NULL,
        runner_id TEXT,
        epoch INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'active',
        revoke_sent_at INTEGER,
        granted_at INTEGER
      );
      CREATE INDEX IF NOT EXISTS leases_runner ON leases (runner_id);
    `);
  }

  // Runners ------------------------------------------------------------------------------------------

  runnerConnected(runnerId: string, capacity: number, now: number): void {
    this.sql.exec(
      `INSERT INTO runners (runner_id, capacity, connected, draining, last_seen_at, disconnected_at)
       VALUES (?, ?, 1, 0, ?, NULL)
       ON CONFLICT (runner_id) DO UPDATE SET capacity = excluded.capacity, connected = 1, draining = 0,
         last_seen_at = excluded.last_seen_at, disconnected_at = NULL`,
      runnerId,
      capacity,
      now,
    );
  }

  runnerSeen(runnerId: string, now: number): void {
    this.sql.exec('UPDATE runners SET last_seen_at = ? WHERE runner_id = ?', now, runnerId);
  }

  runnerDisconnected(runnerId: string, now: number): void {
    this.sql.exec('UPDATE runners SET connected = 0, disconnected_at = ? WHERE runner_id = ? AND connected = 1', now, runnerId);
  }

  runnerDraining(runnerId: string): void {
    this.sql.exec('UPDATE runners SET draining = 1 WHERE runner_id = ?', runnerId);
  }

  forgetRunner(runnerId: string): void {
    this.sql.exec('DELETE FROM runners WHERE runner_id = ?', runnerId);
  }

  runners(): RunnerRow[] {
    return this.sql.exec<RunnerRow & Record<string, SqlStorageValue>>('SELECT * FROM runners').toArray();
  }

  /** Leases held per runner (active or being revoked). */
  loadByRunner(): Map<string, number> {
    const rows = this.sql
      .exec<{ runner_id: string; n: number }>('SELECT runner_id, count(*) AS n FROM leases WHERE runner_id IS NOT NULL GROUP BY runner_id')
      .toArray();
    return new Map(rows.map((r) => [r.runner_id, r.n]));
  }

  // Leases -------------------------------------------------------------------------------------------

  lease(connectionPk: string): LeaseRow | undefined {
    return this.sql.exec<LeaseRow & Record<string, SqlStorageValue>>('SELECT * FROM leases WHERE connection_pk = ?', connectionPk).toArray()[0];
  }

  heldLeases(): LeaseRow[] {
    return this.sql.exec<LeaseRow & Record<string, SqlStorageValue>>('SELECT * FROM leases WHERE runner_id IS NOT NULL').toArray();
  }

  leasesOf(runnerId: string): LeaseRow[] {
    return this.sql.exec<LeaseRow & Record<string, SqlStorageValue>>('SELECT * FROM leases WHERE runner_id = ?', runnerId).toArray();
  }

  grant(l: { connectionPk: string; tenantId: string; connectionId: string; runnerId: string; epoch: number; now: number }): void {
    this.sql.exec(
      `INSERT INTO leases (connection_pk, tenant_id, connection_id, runner_id, epoch, state, revoke_sent_at, granted_at)
       VALUES (?, ?, ?, ?, ?, 'active', NULL, ?)
       ON CONFLICT (connection_pk) DO UPDATE SET runner_id = excluded.runner_id, epoch = excluded.epoch,
         state = 'active', revoke_sent_at = NULL, granted_at = excluded.granted_at,
         tenant_id = excluded.tenant_id, connection_id = excluded.connection_id`,
      l.connectionPk,
      l.tenantId,
      l.connectionId,
      l.runnerId,
      l.epoch,
      l.now,
    );
  }

  markRevoking(connectionPk: string, now: number): void {
    this.sql.exec(`UPDATE leases SET state = 'revoking', revoke_sent_at = ? WHERE connection_pk = ?`, now, connectionPk);
  }

  /** The holder let go (or is presumed gone): the connection is free, its epoch remembered. */
  release(connectionPk: string, epoch?: number): boolean {
    const cursor =
      epoch === undefined
        ? this.sql.exec(`UPDATE leases SET runner_id = NULL, state = 'active', revoke_sent_at = NULL WHERE connection_pk = ?`, connectionPk)
        : this.sql.exec(
            `UPDATE leases SET runner_id = NULL, state = 'active', revoke_sent_at = NULL WHERE connection_pk = ? AND epoch = ?`,
            connectionPk,
            epoch,
          );
    return cursor.rowsWritten > 0;
  }

  forget(connectionPk: string): void {
    this.sql.exec('DELETE FROM leases WHERE connection_pk = ?', connectionPk);
  }
}
