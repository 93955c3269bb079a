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
  ALLOW_PRIVATE_WEBHOOK_TARGETS: string;
  MAX_BODY_BYTES: string;
  /** Shared secret runners present as `Authorization: Bearer …` on /internal routes (a secret in production). */
  RUNNER_TOKEN: string;
  /**
   * Secret key for the WhatsApp message ids of sends with a client_message_id (an HMAC of the two ids), so
   * nobody outside can predict them. Required for such sends (a secret in production; the dev stack makes one).
   */
  MESSAGE_ID_SECRET?: string;
  /** Optional base64 AES-256 key: auth state is encrypted at rest in R2 when set. */
  AUTH_STATE_KEY?: string;
  /** Scheduler tuning (milliseconds); defaults suit production. */
  SCHEDULER_GRACE_MS?: string;
  SCHEDULER_RECONCILE_MS?: string;
  SCHEDULER_REVOKE_TIMEOUT_MS?: string;
  RUNNER_HEARTBEAT_MS?: string;
  /** How long POST /api/send-message waits for the runner (ms, default 20000). */
  SEND_TIMEOUT_MS?: string;
  /** The same for a send with media, which the runner downloads and uploads first (ms, default 120000). */
  MEDIA_SEND_TIMEOUT_MS?: string;
  /** Largest file a send-message `media` may carry, in bytes (default 16 MiB). */
  MAX_MEDIA_BYTES?: string;
  /**
   * Where runners reach this Worker (their CONTROL_PLANE_URL): media links handed to runners start with it,
   * so that runners present their token to them. Default: the origin the send request came in on.
   */
  CONTROL_PLANE_URL?: string;
  /** Seconds before each webhook retry, comma-separated (default: 5 s … 10 h, about 24 h in all; worker/webhooks/schedule.ts). */
  WEBHOOK_RETRY_SCHEDULE?: string;
  /** How long one webhook POST may take (ms, default 10000). */
  WEBHOOK_TIMEOUT_MS?: string;
  /** A delivery overdue by this long, and not being attempted, is re-enqueued by the sweep (s, default 60). */
  WEBHOOK_SWEEP_LATE_SECONDS?: string;
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
  EVENTS: Queue;
  WEBHOOKS: Queue;
  SESSIONS: R2Bucket;
  /** Files of media sends, between the API request and the runner's download (`media/<connection_pk>/<uuid>`). */
  MEDIA: R2Bucket;
  /** Runner events too large for one queue message, between intake and the events consumer (`events/<connection_pk>/<hash>`). */
  EVENT_SPILL: R2Bucket;
  ASSETS: Fetcher;
}
