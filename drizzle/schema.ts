// The Postgres data model of the control plane. Every tenant-owned row carries tenant_id (directly or
// through its connection) so that every query can be scoped to one tenant. Migrations in ./migrations
// are generated from this file by drizzle-kit (`npm run db:generate`).
import { sql } from 'drizzle-orm';
import {
  boolean,
  bigint,
  bigserial,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { apiKeyScopes } from '../protocol/auth';
import { connectionStatuses } from '../protocol/connections';
import { messageStatuses, type MessageEdit, type MessageReaction, type PollVote } from '../protocol/messages';
import { DEFAULT_WEBHOOK_EVENTS } from '../protocol/webhooks';
import { webhookDeliveryStates } from '../protocol/webhook-logs';

const messageDirections = ['inbound', 'outbound'] as const;

/** now() cut to milliseconds, so that timestamps round-trip exactly through JavaScript Dates (keyset cursors). */
export const nowMs = sql`date_trunc('milliseconds', now())`;
const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().default(nowMs);
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().default(nowMs);

export const tenants = pgTable('tenants', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  createdAt: createdAt(),
});

/**
 * Per-tenant overrides of the abuse limits (worker/limits/quotas.ts); a null column, or no row, means the
 * Worker's default (its vars). Set by an operator (`npm run admin -- set-limits`), read inside the
 * statements that enforce them, so an override costs no extra round trip.
 */
export const tenantLimits = pgTable(
  'tenant_limits',
  {
    tenantId: uuid('tenant_id')
      .primaryKey()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    maxConnections: integer('max_connections'),
    maxUnlinkedSessions: integer('max_unlinked_sessions'),
    sendsPerMinute: integer('sends_per_minute'),
    /** Largest received media file stored for this tenant, in bytes (null: the Worker's MEDIA_IN_MAX_BYTES). */
    mediaInMaxBytes: bigint('media_in_max_bytes', { mode: 'number' }),
    updatedAt: updatedAt(),
  },
  (t) => [
    check(
      'tenant_limits_non_negative',
      sql`coalesce(${t.maxConnections}, 0) >= 0 and coalesce(${t.maxUnlinkedSessions}, 0) >= 0 and coalesce(${t.sendsPerMinute}, 0) >= 0 and coalesce(${t.mediaInMaxBytes}, 0) >= 0`,
    ),
  ],
);

/** Dashboard logins. Emails are stored lower-cased and are unique across tenants. */
export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    passwordHash: text('password_hash').notNull(),
    role: text('role', { enum: ['admin', 'member'] })
      .notNull()
      .default('admin'),
    createdAt: createdAt(),
    lastLoginAt: timestamp('last_login_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('users_email_key').on(t.email), index('users_tenant_idx').on(t.tenantId)],
);

/** Dashboard sessions; the cookie holds the token, the table only its SHA-256. */
export const sessions = pgTable(
  'sessions',
  {
    tokenHash: text('token_hash').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('sessions_user_idx').on(t.userId), index('sessions_expires_idx').on(t.expiresAt)],
);

const scopeList = sql.raw(apiKeyScopes.map((s) => `'${s}'`).join(', '));

/**
 * API keys are shown once; only their SHA-256 is kept, with a short prefix to recognise them by. Keys made
 * before scopes existed got all of them (the column's default), so nothing changed for their holders.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    keyHash: text('key_hash').notNull(),
    createdAt: createdAt(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    /** What the key may do (protocol/auth.ts `apiKeyScopes`), in canonical order. */
    scopes: text('scopes', { enum: apiKeyScopes })
      .array()
      .notNull()
      .default(sql`array[${scopeList}]::text[]`),
    /** Null: never expires. */
    expiresAt: timestamp('expires_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('api_keys_hash_key').on(t.keyHash),
    index('api_keys_tenant_idx').on(t.tenantId, t.createdAt),
    // A key with no scope, or one this code does not know, would be a key nobody can reason about.
    check('api_keys_scopes_check', sql`cardinality(${t.scopes}) > 0 and ${t.scopes} <@ array[${scopeList}]::text[]`),
  ],
);

/** One WhatsApp account link. `connection_id` is the tenant's own name for it, unique per tenant. */
export const connections = pgTable(
  'connections',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    connectionId: text('connection_id').notNull(),
    status: text('status', { enum: connectionStatuses }).notNull().default('disconnected'),
    phoneNumber: text('phone_number'),
    webhookUrl: text('webhook_url'),
    webhookSecret: text('webhook_secret').notNull(),
    /** The secret before the last rotation: deliveries are signed with both until it expires (24 h). */
    previousWebhookSecret: text('previous_webhook_secret'),
    previousWebhookSecretExpiresAt: timestamp('previous_webhook_secret_expires_at', { withTimezone: true }),
    /** Event types the webhook receives (protocol/events.ts). */
    webhookEvents: text('webhook_events').array().notNull().default(sql`'{${sql.raw(DEFAULT_WEBHOOK_EVENTS.join(','))}}'::text[]`),
    /** The last delivery's sequence number: each delivery to this connection's webhook takes the next one. */
    webhookSequence: bigint('webhook_sequence', { mode: 'number' }).notNull().default(0),
    /** The string the current QR encodes, and when WhatsApp stops accepting it. */
    qrRaw: text('qr_raw'),
    qrExpiresAt: timestamp('qr_expires_at', { withTimezone: true }),
    /** Why the status is what it is (e.g. 'qr_timeout', 'conflict'), for disconnected/logged_out/replaced. */
    statusReason: text('status_reason'),
    /** First time the account was linked; linked connections are kept running (and restored after restarts). */
    linkedAt: timestamp('linked_at', { withTimezone: true }),
    /** Someone asked for this session to run (QR, pairing code, restart); unlinked connections run for a while after. */
    startRequestedAt: timestamp('start_requested_at', { withTimezone: true }),
    /** Which runner holds the lease, and the lease's fencing epoch (the Scheduler is the authority). */
    leaseRunnerId: text('lease_runner_id'),
    leaseEpoch: bigint('lease_epoch', { mode: 'number' }).notNull().default(0),
    /** Call policy (PUT /api/connections/:id/calls): reject incoming calls, and the text then sent to the caller (null: none). */
    callReject: boolean('call_reject').notNull().default(false),
    callRejectMessage: text('call_reject_message'),
    statusChangedAt: timestamp('status_changed_at', { withTimezone: true }).notNull().default(nowMs),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('connections_tenant_connection_key').on(t.tenantId, t.connectionId),
    index('connections_tenant_created_idx').on(t.tenantId, t.createdAt, t.id),
    index('connections_status_idx').on(t.status),
  ],
);

/** One row per chat per connection, kept current by the events pipeline. */
export const chats = pgTable(
  'chats',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    connectionPk: uuid('connection_pk')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    chatId: text('chat_id').notNull(),
    name: text('name'),
    lastMessageAt: timestamp('last_message_at', { withTimezone: true }).notNull().default(nowMs),
    lastMessageText: text('last_message_text'),
    unreadCount: integer('unread_count').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('chats_connection_chat_key').on(t.connectionPk, t.chatId),
    index('chats_connection_recent_idx').on(t.connectionPk, t.lastMessageAt, t.id),
  ],
);

/**
 * The people a connection knows (contacts.upsert events): keyed by the JID their chat lives under (the
 * phone number's when known, else the LID), with the other form and their names. Fields only fill in:
 * an event that leaves one out does not clear it.
 */
export const contacts = pgTable(
  'contacts',
  {
    connectionPk: uuid('connection_pk')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    jid: text('jid').notNull(),
    lid: text('lid'),
    /** The name the account saved for them (address book). */
    name: text('name'),
    /** The name they set themselves. */
    pushName: text('push_name'),
    verifiedName: text('verified_name'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.connectionPk, t.jid] }),
    index('contacts_connection_lid_idx').on(t.connectionPk, t.lid),
  ],
);

export const messages = pgTable(
  'messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    connectionPk: uuid('connection_pk')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    chatId: text('chat_id').notNull(),
    direction: text('direction', { enum: messageDirections }).notNull(),
    fromJid: text('from_jid'),
    toJid: text('to_jid'),
    type: text('type').notNull().default('text'),
    text: text('text'),
    content: jsonb('content'),
    /** The provider_message_id this message quotes (WhatsApp's contextInfo.stanzaId), either direction. */
    replyTo: text('reply_to'),
    /** JIDs the message mentions (contextInfo.mentionedJid), a JSON array; null when none. */
    mentions: jsonb('mentions').$type<string[]>(),
    /** A received (or echoed) message as WhatsApp's proto JSON (bounded by the runner): what quoting or forwarding it sends. Not in the API. */
    proto: jsonb('proto'),
    clientMessageId: text('client_message_id'),
    providerMessageId: text('provider_message_id'),
    /** Outbound, with a client_message_id: SHA-256 of what was asked (recipient and content), to refuse a reused id. */
    requestHash: text('request_hash'),
    status: text('status', { enum: messageStatuses }).notNull(),
    error: text('error'),
    /** When WhatsApp says the message was sent (sender's clock); ordering key for chat history. */
    sentAt: timestamp('sent_at', { withTimezone: true }).notNull().default(nowMs),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    /** Changes made to it since (worker/data/events/changes.ts): its sender's last edit, a revoke or a delete for us. */
    editedAt: timestamp('edited_at', { withTimezone: true }),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    /** Earlier texts, oldest first: [{ message, replaced_at }]. */
    edits: jsonb('edits').$type<MessageEdit[]>().notNull().default(sql`'[]'::jsonb`),
    /** One per person: [{ from, emoji, at }] (from null: this account). */
    reactions: jsonb('reactions').$type<MessageReaction[]>().notNull().default(sql`'[]'::jsonb`),
    /** A poll's votes, one current choice per voter: [{ voter, options, at }]; null until the first vote. */
    pollVotes: jsonb('poll_votes').$type<PollVote[]>(),
  },
  (t) => [
    uniqueIndex('messages_connection_provider_key').on(t.connectionPk, t.providerMessageId),
    uniqueIndex('messages_connection_client_key')
      .on(t.connectionPk, t.clientMessageId)
      .where(sql`${t.clientMessageId} is not null`),
    index('messages_chat_history_idx').on(t.connectionPk, t.chatId, t.sentAt, t.id),
    // The overview's count of today's messages (GET /api/stats): chat history's index leads with the chat.
    index('messages_connection_sent_idx').on(t.connectionPk, t.sentAt),
    // The replies to a message.
    index('messages_reply_to_idx')
      .on(t.connectionPk, t.replyTo)
      .where(sql`${t.replyTo} is not null`),
  ],
);

/**
 * Changes (message.change events) that came before the message they change (WhatsApp does not promise
 * order across a reconnect or a redelivery): kept here, applied and deleted when the message is stored.
 */
export const pendingMessageChanges = pgTable(
  'pending_message_changes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    connectionPk: uuid('connection_pk')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    tenantId: uuid('tenant_id').notNull(),
    chatId: text('chat_id').notNull(),
    targetId: text('target_id').notNull(),
    eventId: text('event_id').notNull(),
    /** The runner event (protocol/runner.ts, type message.change) as it came. */
    event: jsonb('event').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('pending_message_changes_event_key').on(t.connectionPk, t.eventId),
    index('pending_message_changes_target_idx').on(t.connectionPk, t.targetId),
  ],
);

/**
 * The webhook outbox: one row per (event, endpoint), written in the same transaction that stores the
 * event, so nothing stored can miss its delivery. The `webhooks` queue carries only the row's id; the row
 * is the truth (state, attempts, when the next one is due), and a sweep re-enqueues rows the queue lost.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    connectionPk: uuid('connection_pk')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    eventType: text('event_type').notNull(),
    /** The fact delivered, unique per connection (e.g. `message.status:<message id>:read`): one delivery per fact. */
    eventKey: text('event_key').notNull(),
    /** The message a message event is about; its body is rendered from the stored row. */
    messageId: bigint('message_id', { mode: 'number' }).references(() => messages.id, { onDelete: 'cascade' }),
    /** What the body needs beyond the message row (push name, status, lifecycle fields). */
    data: jsonb('data'),
    sequence: bigint('sequence', { mode: 'number' }).notNull(),
    /** The body as first sent: every retry signs and sends the same bytes. */
    payload: text('payload'),
    state: text('state', { enum: webhookDeliveryStates }).notNull().default('pending'),
    /** Attempts in all (numbers the log rows), and since the last replay (picks the next delay). */
    attempts: integer('attempts').notNull().default(0),
    roundAttempts: integer('round_attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().default(nowMs),
    /** An attempt in flight holds the row until then, so a duplicate queue message cannot send it twice at once. */
    claimedUntil: timestamp('claimed_until', { withTimezone: true }),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_connection_event_key').on(t.connectionPk, t.eventKey),
    index('webhook_deliveries_due_idx').on(t.nextAttemptAt).where(sql`${t.state} in ('pending', 'retrying')`),
    index('webhook_deliveries_connection_recent_idx').on(t.connectionPk, t.createdAt),
    index('webhook_deliveries_message_idx').on(t.messageId),
    // Retention (the sweep forgets finished deliveries after WEBHOOK_RETENTION_DAYS).
    index('webhook_deliveries_finished_idx').on(t.updatedAt).where(sql`${t.state} in ('delivered', 'failed', 'dead')`),
    // The overview's count of deliveries that died lately (GET /api/stats); dead ones are few.
    index('webhook_deliveries_dead_idx').on(t.tenantId, t.updatedAt).where(sql`${t.state} = 'dead'`),
  ],
);

/**
 * What reached the `events-dlq` queue (runner events the consumer could not store within its retries),
 * kept for inspection; `npm run admin -- redrive-events` asks the sweep to put them back on `events`.
 */
export const deadEvents = pgTable(
  'dead_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** The queue message's body as it was (a QueuedEvent, or a pointer to a spilled one). */
    body: jsonb('body').notNull(),
    attempts: integer('attempts').notNull(),
    createdAt: createdAt(),
    redriveRequestedAt: timestamp('redrive_requested_at', { withTimezone: true }),
  },
  (t) => [index('dead_events_redrive_idx').on(t.redriveRequestedAt).where(sql`${t.redriveRequestedAt} is not null`)],
);

/** One row per delivery attempt of one webhook event. */
export const webhookLogs = pgTable(
  'webhook_logs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    connectionPk: uuid('connection_pk')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    /** The delivery this attempt belongs to (null for a `test` event, which has none). */
    deliveryId: uuid('delivery_id').references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    /** The delivery's `webhook-id`. */
    eventId: text('event_id').notNull(),
    eventType: text('event_type').notNull(),
    url: text('url').notNull(),
    attempt: integer('attempt').notNull(),
    state: text('state', { enum: webhookDeliveryStates }).notNull(),
    statusCode: integer('status_code'),
    durationMs: integer('duration_ms'),
    error: text('error'),
    responseExcerpt: text('response_excerpt'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('webhook_logs_event_attempt_key').on(t.eventId, t.attempt),
    index('webhook_logs_connection_recent_idx').on(t.connectionPk, t.createdAt, t.id),
    index('webhook_logs_delivery_idx').on(t.deliveryId),
    index('webhook_logs_created_idx').on(t.createdAt),
    // The overview's count of the last day's failed attempts (GET /api/stats), per tenant; failures are few.
    index('webhook_logs_failed_idx').on(t.tenantId, t.createdAt).where(sql`${t.state} <> 'delivered'`),
  ],
);

/**
 * Per-runner credentials (`sbr_<runner_id>_<secret>`, protocol/runner-token.ts), issued and revoked by the
 * admin CLI. Only the SHA-256 of the token is kept. The Scheduler mirrors the unrevoked ones into its own
 * storage, where the runner-facing routes verify tokens (so that they need no Postgres on every call).
 */
export const runnerCredentials = pgTable(
  'runner_credentials',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runnerId: text('runner_id').notNull(),
    name: text('name').notNull(),
    /** The first characters of the token's secret, to tell tokens apart in listings. */
    hint: text('hint').notNull(),
    tokenHash: text('token_hash').notNull(),
    createdAt: createdAt(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('runner_credentials_token_hash_key').on(t.tokenHash),
    index('runner_credentials_active_idx').on(t.runnerId).where(sql`${t.revokedAt} is null`),
  ],
);

/** Who read a connection's auth state (WhatsApp keys), and when: never what was read. */
export const authStateReads = pgTable(
  'auth_state_reads',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runnerId: text('runner_id').notNull(),
    credentialId: uuid('credential_id').notNull(),
    /** No foreign key: the record outlives the connection. */
    connectionPk: uuid('connection_pk').notNull(),
    epoch: bigint('epoch', { mode: 'number' }).notNull(),
    readAt: timestamp('read_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('auth_state_reads_connection_idx').on(t.connectionPk, t.readAt), index('auth_state_reads_read_at_idx').on(t.readAt)],
);

/**
 * Files of received media messages (runner/media-in.ts → /internal/media-in → R2 MEDIA under
 * `inbound/<tenant>/<connection_pk>/…`). One row per message: `r2Key` set when the file is stored (its
 * SHA-256 checked by R2 against the message's fileSha256), null with `reason` when only metadata is
 * (too large for the tenant's limit, or the download failed). Written before the message event is handed
 * over, so a stored message's file is already there.
 */
export const inboundMedia = pgTable(
  'inbound_media',
  {
    connectionPk: uuid('connection_pk')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    providerMessageId: text('provider_message_id').notNull(),
    mimetype: text('mimetype').notNull(),
    size: bigint('size', { mode: 'number' }).notNull(),
    filename: text('filename'),
    /** Hex SHA-256 of the file, as WhatsApp's message states it (and R2 verified when stored). */
    sha256: text('sha256').notNull(),
    r2Key: text('r2_key'),
    reason: text('reason'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.connectionPk, t.providerMessageId] })],
);

/**
 * Calls offered to a connection's account, one row per WhatsApp call id: the record that a call was
 * reported (a replayed event adds nothing, so `call.received` is told once), and what the policy did.
 */
export const calls = pgTable(
  'calls',
  {
    connectionPk: uuid('connection_pk')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    callId: text('call_id').notNull(),
    /** The caller as WhatsApp named them (a phone-number or LID JID). */
    fromJid: text('from_jid').notNull(),
    chatId: text('chat_id').notNull(),
    isVideo: boolean('is_video').notNull(),
    isGroup: boolean('is_group').notNull(),
    groupId: text('group_id'),
    offline: boolean('offline').notNull(),
    rejected: boolean('rejected').notNull(),
    rejectMessageId: text('reject_message_id'),
    /** When it was placed (the caller's clock, as WhatsApp stamps the offer). */
    timestamp: timestamp('timestamp', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.connectionPk, t.callId] })],
);
