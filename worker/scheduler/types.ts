// Rows of the Scheduler's SQLite tables (see registry.ts).

export interface RunnerRow {
  runner_id: string;
  capacity: number;
  connected: number;
  draining: number;
  last_seen_at: number;
  disconnected_at: number | null;
}

export interface LeaseRow {
  connection_pk: string;
  tenant_id: string;
  connection_id: string;
  /** null once released: the row is kept so that epochs only ever grow. */
  runner_id: string | null;
  epoch: number;
  /** 'active', or 'revoking' after lease.revoke was sent and before lease.released came back. */
  state: 'active' | 'revoking';
  revoke_sent_at: number | null;
  granted_at: number | null;
}

/** A runner credential the Scheduler accepts (unrevoked in Postgres when last synced). */
export interface CredentialRow {
  credential_id: string;
  runner_id: string;
  /** SHA-256 of the token, hex (protocol/runner-token.ts). */
  token_hash: string;
}
