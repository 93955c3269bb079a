// The Scheduler's own state, in its SQLite storage: which runners exist and which runner holds which
// connection under which epoch, which runner each recent epoch was granted to, and the mirror of the
// runner credentials (their hashes) from Postgres. Only the Scheduler Durable Object touches it.

import type { CredentialRow, LeaseRow, RunnerRow } from './types';

/**
 * Epochs remembered per connection (who each was granted to): a runner that lost a lease may still report
 * its facts (messages, receipts) for as many re-grants as this, e.g. replaying its journal after a restart.
 */
export const HOLDER_HISTORY_EPOCHS = 16;

export class Registry {
  /**
   * Leases as last read or written, by connection: every command looks its lease up, and a SQLite query
   * for each was the largest part of the Scheduler's CPU per send (bench/scheduler-capacity.ts). Every
   * write to `leases` goes through this class and drops its entry.
   */
  private readonly leaseCache = new Map<string, LeaseRow | null>();

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
      CREATE TABLE IF NOT EXISTS lease_holders (
        connection_pk TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        runner_id TEXT NOT NULL,
        PRIMARY KEY (connection_pk, epoch)
      );
      CREATE TABLE IF NOT EXISTS runner_credentials (
        credential_id TEXT PRIMARY KEY,
        runner_id TEXT NOT NULL,
        token_hash TEXT NOT NULL,
        mirrored_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS runner_credentials_runner ON runner_credentials (runner_id);
    `);
    // Leases granted before lease_holders existed: their holders are known from the leases themselves.
    sql.exec('INSERT OR IGNORE INTO lease_holders (connection_pk, epoch, runner_id) SELECT connection_pk, epoch, runner_id FROM leases WHERE runner_id IS NOT NULL');
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
    const cached = this.leaseCache.get(connectionPk);
    if (cached !== undefined) return cached ?? undefined;
    const row = this.sql.exec<LeaseRow & Record<string, SqlStorageValue>>('SELECT * FROM leases WHERE connection_pk = ?', connectionPk).toArray()[0];
    this.leaseCache.set(connectionPk, row ?? null);
    return row;
  }

  heldLeases(): LeaseRow[] {
    return this.sql.exec<LeaseRow & Record<string, SqlStorageValue>>('SELECT * FROM leases WHERE runner_id IS NOT NULL').toArray();
  }

  leasesOf(runnerId: string): LeaseRow[] {
    return this.sql.exec<LeaseRow & Record<string, SqlStorageValue>>('SELECT * FROM leases WHERE runner_id = ?', runnerId).toArray();
  }

  grant(l: { connectionPk: string; tenantId: string; connectionId: string; runnerId: string; epoch: number; now: number }): void {
    this.leaseCache.delete(l.connectionPk);
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
    this.sql.exec('INSERT OR REPLACE INTO lease_holders (connection_pk, epoch, runner_id) VALUES (?, ?, ?)', l.connectionPk, l.epoch, l.runnerId);
    this.sql.exec('DELETE FROM lease_holders WHERE connection_pk = ? AND epoch <= ?', l.connectionPk, l.epoch - HOLDER_HISTORY_EPOCHS);
  }

  /** The runner the connection's lease was granted to under `epoch` (within HOLDER_HISTORY_EPOCHS). */
  holderAt(connectionPk: string, epoch: number): string | undefined {
    return this.sql
      .exec<{ runner_id: string }>('SELECT runner_id FROM lease_holders WHERE connection_pk = ? AND epoch = ?', connectionPk, epoch)
      .toArray()[0]?.runner_id;
  }

  markRevoking(connectionPk: string, now: number): void {
    this.leaseCache.delete(connectionPk);
    this.sql.exec(`UPDATE leases SET state = 'revoking', revoke_sent_at = ? WHERE connection_pk = ?`, now, connectionPk);
  }

  /** The holder let go (or is presumed gone): the connection is free, its epoch remembered. */
  release(connectionPk: string, epoch?: number): boolean {
    this.leaseCache.delete(connectionPk);
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
    this.leaseCache.delete(connectionPk);
    this.sql.exec('DELETE FROM leases WHERE connection_pk = ?', connectionPk);
    this.sql.exec('DELETE FROM lease_holders WHERE connection_pk = ?', connectionPk);
  }

  // Runner credentials (mirror of Postgres' unrevoked runner_credentials) ------------------------------

  credentialsOf(runnerId: string): CredentialRow[] {
    return this.sql.exec<CredentialRow & Record<string, SqlStorageValue>>('SELECT credential_id, runner_id, token_hash FROM runner_credentials WHERE runner_id = ?', runnerId).toArray();
  }

  credentialIds(): Set<string> {
    return new Set(this.sql.exec<{ credential_id: string }>('SELECT credential_id FROM runner_credentials').toArray().map((r) => r.credential_id));
  }

  /**
   * Replaces the whole mirror with a snapshot of Postgres read since `readSince`. Rows mirrored after that
   * (a look-up for one runner, answered while the snapshot was being read) are newer than it and stay.
   */
  replaceAllCredentials(rows: CredentialRow[], readSince: number, now: number): void {
    this.sql.exec('DELETE FROM runner_credentials WHERE mirrored_at < ?', readSince);
    for (const r of rows) this.putCredential(r, now);
  }

  /** Replaces one runner's credentials with what Postgres has for it now. */
  replaceRunnerCredentials(runnerId: string, rows: CredentialRow[], now: number): void {
    this.sql.exec('DELETE FROM runner_credentials WHERE runner_id = ?', runnerId);
    for (const r of rows) if (r.runner_id === runnerId) this.putCredential(r, now);
  }

  private putCredential(r: CredentialRow, now: number): void {
    this.sql.exec(
      'INSERT OR REPLACE INTO runner_credentials (credential_id, runner_id, token_hash, mirrored_at) VALUES (?, ?, ?, ?)',
      r.credential_id,
      r.runner_id,
      r.token_hash,
      now,
    );
  }
}
