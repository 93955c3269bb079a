// The wire contract between runners and the control plane. Runners dial out; nothing dials in.
//
//  * Link: one WebSocket per runner, `GET /internal/runners/connect?runner_id=…` with
//    `Authorization: Bearer <RUNNER_TOKEN>`. JSON text frames, `RunnerToControl` up, `ControlToRunner` down.
//  * Events: `POST /internal/events` (same bearer token), body `EventBatch`, answer `EventBatchResult`.
//    A 2xx means the events are durably queued; until then the runner keeps them in its outbox.
//  * Auth state: `/internal/sessions/:connection_pk/auth…` (see AUTH_STATE below), epoch-checked.
//
// Fencing: every lease has an epoch that grows on each (re)assignment. Everything a runner sends about a
// connection carries the epoch it was granted; the control plane refuses a stale one (HTTP 409
// `stale_epoch`), so a runner that lost its lease can never write events or auth state again.
import { z } from 'zod';
import { connectionStatuses } from './connections';

export const RUNNER_PROTOCOL_VERSION = 1;

const Epoch = z.number().int().nonnegative();
const ConnectionPk = z.string().uuid();
const Iso = z.string().datetime({ offset: true });

// ---------------------------------------------------------------------------------------------------
// Events (runner → control plane)

/** A message as the gateway stores it; built from Baileys' WAMessage in exactly one place (runner). */
export const WireMessage = z.object({
  provider_message_id: z.string().min(1).max(128),
  /** The chat (user or group JID, device suffix dropped). */
  chat_id: z.string().min(1).max(128),
  direction: z.enum(['inbound', 'outbound']),
  /** Sender JID (for inbound: the contact, or the participant in a group); null for our own. */
  from: z.string().nullable(),
  to: z.string().nullable(),
  push_name: z.string().nullable(),
  /** 'text' for conversation/extendedText; other Baileys content types by name (imageMessage → 'image'). */
  type: z.string().min(1).max(40),
  text: z.string().nullable(),
  /** The Baileys message content (JSON), for types the gateway does not flatten. Bounded by the runner. */
  content: z.unknown().nullable(),
  timestamp: Iso,
  /** 'live' for messages as they happen, 'history' for history sync. */
  source: z.enum(['live', 'history']),
  /** A group chat's subject, when the runner knows it (it names the chat). Optional: older runners omit it. */
  chat_name: z.string().max(256).nullable().optional(),
});
export type WireMessage = z.infer<typeof WireMessage>;

export const deliveryStatuses = ['pending', 'sent', 'delivered', 'read', 'played', 'failed'] as const;

const eventBase = {
  /** Stable id: the same fact reported twice (retries, reconnects) carries the same id. */
  id: z.string().min(1).max(200),
  at: Iso,
};

export const RunnerEvent = z.discriminatedUnion('type', [
  z.object({
    ...eventBase,
    type: z.literal('connection.status'),
    status: z.enum(connectionStatuses),
    /** E.164 with +, once known. */
    phone_number: z.string().nullable().optional(),
    /** Why, for disconnected/logged_out/replaced (e.g. 'qr_timeout', 'logged_out', 'conflict'). */
    reason: z.string().max(200).nullable().optional(),
  }),
  z.object({ ...eventBase, type: z.literal('qr'), qr: z.string().min(1).max(2000), expires_at: Iso }),
  z.object({ ...eventBase, type: z.literal('message.upsert'), message: WireMessage }),
  z.object({
    ...eventBase,
    type: z.literal('message.status'),
    provider_message_id: z.string().min(1).max(128),
    chat_id: z.string().min(1).max(128),
    status: z.enum(deliveryStatuses),
  }),
]);
export type RunnerEvent = z.infer<typeof RunnerEvent>;

export const MAX_EVENTS_PER_BATCH = 500;

export const EventBatch = z.object({
  runner_id: z.string().min(1).max(100),
  leases: z
    .array(z.object({ connection_pk: ConnectionPk, epoch: Epoch, events: z.array(RunnerEvent).min(1) }))
    .min(1)
    .refine((ls) => ls.reduce((n, l) => n + l.events.length, 0) <= MAX_EVENTS_PER_BATCH, {
      message: `at most ${MAX_EVENTS_PER_BATCH} events per batch`,
    }),
});
export type EventBatch = z.infer<typeof EventBatch>;

/** Per lease: accepted (queued) or rejected. A rejected lease's events must be dropped by the runner. */
export const EventBatchResult = z.object({
  accepted: z.array(z.object({ connection_pk: ConnectionPk, count: z.number().int() })),
  rejected: z.array(z.object({ connection_pk: ConnectionPk, reason: z.enum(['stale_epoch', 'unknown_connection']) })),
});
export type EventBatchResult = z.infer<typeof EventBatchResult>;

/** What the events queue carries: one runner event with the lease it came from. */
export const QueuedEvent = z.object({
  connection_pk: ConnectionPk,
  tenant_id: z.string().uuid(),
  epoch: Epoch,
  runner_id: z.string(),
  event: RunnerEvent,
});
export type QueuedEvent = z.infer<typeof QueuedEvent>;

/** A queued event too large for a queue message: the event itself is in R2 under `spilled.key`. */
export const SpilledEvent = QueuedEvent.omit({ event: true }).extend({
  spilled: z.object({ key: z.string().min(1).max(300), type: z.string() }),
});
export type SpilledEvent = z.infer<typeof SpilledEvent>;

/** What one message of the events queue holds. */
export const EventsQueueMessage = z.union([QueuedEvent, SpilledEvent]);

// ---------------------------------------------------------------------------------------------------
// Link (WebSocket)

export const sendMediaKinds = ['image', 'document', 'audio', 'video'] as const;

/**
 * A file to send. The runner downloads `source.url` itself (GET; the runner's bearer token is sent only
 * when the URL is under CONTROL_PLANE_URL, e.g. `/internal/media/<ref>`), at most MAX_MEDIA_BYTES, then
 * uploads it to WhatsApp. `filename` is a document's file name; `ptt` marks audio as a voice note.
 */
export const SendMedia = z.object({
  kind: z.enum(sendMediaKinds),
  mimetype: z.string().min(1).max(255),
  filename: z.string().min(1).max(255).optional(),
  ptt: z.boolean().optional(),
  source: z.object({
    url: z
      .string()
      .url()
      .refine((u) => /^https?:$/.test(new URL(u).protocol), 'must be an http(s) URL'),
  }),
});
export type SendMedia = z.infer<typeof SendMedia>;

export const Command = z.discriminatedUnion('name', [
  /**
   * Send a text, or with `media` a file whose caption is `text` (may be empty; audio takes no caption, so
   * its text must be empty). `message_id` is chosen by the control plane (idempotency: same id on every retry).
   */
  z.object({ name: z.literal('send'), to: z.string(), text: z.string(), message_id: z.string(), media: SendMedia.optional() }),
  z.object({ name: z.literal('pairing-code'), phone_number: z.string().regex(/^\d{6,15}$/) }),
  /** Unlink from the phone (Baileys logout), delete auth state, report logged_out. */
  z.object({ name: z.literal('logout') }),
  /** Close and reopen the socket from the saved auth state. */
  z.object({ name: z.literal('restart') }),
]);
export type Command = z.infer<typeof Command>;

export const CommandResult = z.object({
  provider_message_id: z.string().optional(),
  timestamp: Iso.optional(),
  /** send: the JID WhatsApp has the number under, when it is not the one asked for (Brazil's ninth digit). */
  recipient_jid: z.string().max(128).optional(),
  code: z.string().optional(),
});
export type CommandResult = z.infer<typeof CommandResult>;

export const commandErrorCodes = [
  'not_connected',
  'invalid_recipient',
  'not_holding_lease',
  'send_failed',
  'timeout',
  'bad_command',
  'internal',
  /** `send` with media: the source could not be downloaded (network error, non-2xx answer, timeout, empty file). */
  'media_unavailable',
  /** `send` with media: the source is larger than the runner's MAX_MEDIA_BYTES. */
  'media_too_large',
] as const;

export const ControlToRunner = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('welcome'),
    runner_id: z.string(),
    heartbeat_interval_ms: z.number().int().positive(),
    /** The control plane's clock (ms since the epoch) when it answered hello: runners stamp events in its time. */
    server_time: z.number().int().positive().optional(),
  }),
  /** Start (or keep) a session for this connection under this epoch. */
  z.object({
    type: z.literal('lease.grant'),
    connection_pk: ConnectionPk,
    tenant_id: z.string().uuid(),
    connection_id: z.string(),
    epoch: Epoch,
  }),
  /** Stop the session: flush auth state and outbox for it, close, then answer `lease.released`. */
  z.object({
    type: z.literal('lease.revoke'),
    connection_pk: ConnectionPk,
    epoch: Epoch,
    reason: z.enum(['moved', 'deleted', 'stopped', 'drain', 'stale']),
  }),
  z.object({
    type: z.literal('command'),
    request_id: z.string(),
    connection_pk: ConnectionPk,
    epoch: Epoch,
    command: Command,
  }),
]);
export type ControlToRunner = z.infer<typeof ControlToRunner>;

export const RunnerToControl = z.discriminatedUnion('type', [
  /** First frame after connecting (and after every reconnect): who I am and what I still hold. */
  z.object({
    type: z.literal('hello'),
    runner_id: z.string().min(1).max(100),
    protocol: z.literal(RUNNER_PROTOCOL_VERSION),
    capacity: z.number().int().positive(),
    /** Sessions this runner still runs (after a control-plane restart or a link drop). */
    leases: z.array(z.object({ connection_pk: ConnectionPk, epoch: Epoch })),
  }),
  z.object({ type: z.literal('heartbeat'), sessions: z.number().int().nonnegative() }),
  z.object({ type: z.literal('lease.released'), connection_pk: ConnectionPk, epoch: Epoch }),
  /** SIGTERM: give my leases to others; I will release each when asked. */
  z.object({ type: z.literal('draining') }),
  z.object({
    type: z.literal('reply'),
    request_id: z.string(),
    ok: z.boolean(),
    result: CommandResult.optional(),
    error: z.object({ code: z.enum(commandErrorCodes), message: z.string() }).optional(),
    /** How long the runner itself took, from the command's arrival to this reply (for Server-Timing; older runners omit it). */
    elapsed_ms: z.number().nonnegative().optional(),
  }),
]);
export type RunnerToControl = z.infer<typeof RunnerToControl>;

// ---------------------------------------------------------------------------------------------------
// Auth state (Baileys creds + Signal keys), stored in R2 by the control plane for the lease holder.
//
//   GET    /internal/sessions/:pk/auth?epoch=N   → AuthStateDump (404 when there is none)
//   POST   /internal/sessions/:pk/auth           ← AuthStateWrite   (409 stale_epoch)
//   DELETE /internal/sessions/:pk/auth?epoch=N   (after logout)
//
// The runner coalesces changes and writes deltas (seq increasing); now and then it writes a full
// snapshot, after which older deltas are dropped. Values are opaque to the control plane: the runner
// encodes them with Baileys' BufferJSON.

export const AuthStateWrite = z.object({
  runner_id: z.string(),
  epoch: Epoch,
  kind: z.enum(['delta', 'snapshot']),
  seq: z.number().int().nonnegative(),
  /** JSON text (BufferJSON): for a snapshot `{ creds, keys }`, for a delta `{ creds?, keys }` where a null key value deletes. */
  data: z.string(),
});
export type AuthStateWrite = z.infer<typeof AuthStateWrite>;

export const AuthStateDump = z.object({
  snapshot: z.object({ seq: z.number().int(), data: z.string() }).nullable(),
  deltas: z.array(z.object({ seq: z.number().int(), data: z.string() })),
});
export type AuthStateDump = z.infer<typeof AuthStateDump>;
