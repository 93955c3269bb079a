// Bindings and variables the Worker receives (see wrangler.toml and the README's configuration table).
import type { Scheduler } from './scheduler/scheduler';
import type { Hub } from './hub/hub';

export interface Env {
  /** Postgres connection string (a secret in production). */
  DATABASE_URL: string;
  /** host:port of a WebSocket-to-TCP proxy in front of Postgres; empty in production (Neon). */
  NEON_WS_PROXY: string;
  ALLOW_PRIVATE_WEBHOOK_TARGETS: string;
  MAX_BODY_BYTES: string;
  SCHEDULER: DurableObjectNamespace<Scheduler>;
  HUB: DurableObjectNamespace<Hub>;
  EVENTS: Queue;
  WEBHOOKS: Queue;
  SESSIONS: R2Bucket;
  ASSETS: Fetcher;
}
