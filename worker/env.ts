// Bindings and variables the Worker receives (see wrangler.toml and the README's configuration table).
import type { Scheduler } from './scheduler/scheduler';
import type { Hub } from './hub/hub';
import type { SocketIoSession } from './realtime/socketio-session';
import type { RateLimiter } from './limits/rate-limiter';

export interface Env {
  /** Postgres connection string (a secret in production). */
  DATABASE_URL: string;
  /** host:port of a WebSocket-to-TCP proxy in front of Postgres; empty in production (Neon). */
  NEON_WS_PROXY: string;
  /**
   * Webhook URLs on non-public addresses, other ports or with credentials: "true" allows them all, or a
   * comma list of host[:port] allows those (local development only). Empty in production.
   */
  ALLOW_PRIVATE_WEBHOOK_TARGETS: string;
  /** The same allowance for send-message's `media.url` (and its redirects); separate, so one opening does not open the other. */
  ALLOW_PRIVATE_MEDIA_SOURCES?: string;
  MAX_BODY_BYTES: string;
  // No runner secret here: each runner has its own credential (runner_credentials in Postgres, mirrored by
  // the Scheduler; `npm run admin -- issue-runner-token`). A RUNNER_TOKEN var left over is ignored.
  /**
   * Secret key for the WhatsApp message ids of sends with a client_message_id (an HMAC of the two ids), so
   * nobody outside can predict them. Required for such sends (a secret in production; the dev stack makes one).
   */
  MESSAGE_ID_SECRET?: string;
  /**
   * Keys that seal WhatsApp auth state in R2, as `id:base64,id:base64` (32-byte AES-256 keys; the first one
   * seals, all of them open: rotation). Required: without it the auth-state routes answer 503 and store
   * nothing (a secret in production; the dev stack and tests make one). AUTH_STATE_KEY is the single-key form.
   */
  AUTH_STATE_KEYS?: string;
  AUTH_STATE_KEY?: string;
  /** "true" only while migrating: plaintext and keyless (pre-rotation) auth-state objects are read, then re-sealed. */
  AUTH_STATE_ACCEPT_UNSEALED?: string;
  /** The same for webhook secrets in Postgres (WEBHOOK_SECRET_KEY: the single-key form). Required to create or sign. */
  WEBHOOK_SECRET_KEYS?: string;
  WEBHOOK_SECRET_KEY?: string;
  /** Scheduler tuning (milliseconds); defaults suit production. */
  SCHEDULER_GRACE_MS?: string;
  SCHEDULER_RECONCILE_MS?: string;
  SCHEDULER_REVOKE_TIMEOUT_MS?: string;
  /** How many Scheduler shards share the connections (protocol/shards.ts): 1 (the default) to 64. */
  SCHEDULER_SHARDS?: string;
  RUNNER_HEARTBEAT_MS?: string;
  /** How long POST /api/send-message waits for the runner (ms, default 20000). */
  SEND_TIMEOUT_MS?: string;
  /** The same for a send with media, which the runner downloads and uploads first (ms, default 120000). */
  MEDIA_SEND_TIMEOUT_MS?: string;
  /** Largest file a send-message `media` may carry, in bytes (default 16 MiB). */
  MAX_MEDIA_BYTES?: string;
  /**
   * Where runners reach this Worker (their CONTROL_PLANE_URL): media links handed to runners start with it,
   * and runners download only under it. Required for media sends; never derived from the request.
   */
  CONTROL_PLANE_URL?: string;
  /** Seconds before each webhook retry, comma-separated (default: 5 s … 10 h, about 24 h in all; worker/webhooks/schedule.ts). */
  WEBHOOK_RETRY_SCHEDULE?: string;
  /** How long one webhook POST may take (ms, default 10000). */
  WEBHOOK_TIMEOUT_MS?: string;
  /** A delivery overdue by this long, and not being attempted, is re-enqueued by the sweep (s, default 60). */
  WEBHOOK_SWEEP_LATE_SECONDS?: string;
  /** Rows of auth_state_reads (who read which connection's auth state, when) are kept this many days (default 90). */
  AUTH_READ_RETENTION_DAYS?: string;
  /** Finished webhook deliveries and log rows are kept this many days (default 30). */
  WEBHOOK_RETENTION_DAYS?: string;
  /**
   * The WhatsApp Web emulator's control URL (e.g. http://127.0.0.1:5800/control): set by the dev stack with
   * SANDBOX=1 and by the tests, never in production. Unset, /api/sandbox says `enabled: false`.
   */
  SANDBOX_CONTROL_URL?: string;
  SCHEDULER: DurableObjectNamespace<Scheduler>;
  HUB: DurableObjectNamespace<Hub>;
  /** One Socket.IO (Engine.IO) session per object, named by its sid (worker/realtime/socketio-session.ts). */
  SOCKETIO: DurableObjectNamespace<SocketIoSession>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  /** Login attempts allowed per client IP, as "count/seconds" (default 30/600). */
  LOGIN_LIMIT_PER_IP?: string;
  /** Login attempts allowed per email address, as "count/seconds" (default 10/900). */
  LOGIN_LIMIT_PER_EMAIL?: string;
  /** Requests per credential (API key, or dashboard user), as "count/seconds" (default 600/60; limits/config.ts). */
  API_LIMIT_PER_KEY?: string;
  /** Numbers each connection may look up with check-numbers, as "count/seconds" (default 200/3600; limits/config.ts). */
  CHECK_NUMBERS_LIMIT?: string;
  /** Connections a tenant may have (default 100); tenant_limits.max_connections overrides it per tenant. */
  TENANT_MAX_CONNECTIONS?: string;
  /** Unlinked sessions (waiting for a QR or pairing code) a tenant may run at once (default 5; tenant_limits overrides). */
  TENANT_MAX_UNLINKED_SESSIONS?: string;
  /** Sends per minute per tenant, over all its connections (default 600; tenant_limits overrides). */
  TENANT_SENDS_PER_MINUTE?: string;
  /** Largest received media file stored, in bytes (default 64 MiB, at most 95 MiB; tenant_limits.media_in_max_bytes overrides). */
  MEDIA_IN_MAX_BYTES?: string;
  /** Key of the HMAC that signs media links in webhook bodies (worker/media-in/links.ts); unset: webhook bodies carry no link. */
  MEDIA_LINK_KEY?: string;
  /** How long a signed media link in a webhook body stays valid, in seconds (default 86400). */
  MEDIA_LINK_TTL_SECONDS?: string;
  EVENTS: Queue;
  WEBHOOKS: Queue;
  SESSIONS: R2Bucket;
  /** Files of media sends, between the API request and the runner's download (`media/<connection_pk>/<uuid>`). */
  MEDIA: R2Bucket;
  /** Runner events too large for one queue message, between intake and the events consumer (`events/<connection_pk>/<hash>`). */
  EVENT_SPILL: R2Bucket;
  ASSETS: Fetcher;
}
