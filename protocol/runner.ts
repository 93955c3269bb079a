// The wire contract between runners and the control plane. Runners dial out; nothing dials in.
//
//  * Credential: each runner has its own token, `sbr_<runner id>_<secret>` (protocol/runner-token.ts),
//    issued by the admin CLI; it names the runner, so a runner can only ever speak as itself (401 for a
//    missing, malformed, unknown or revoked token; 403 `runner_id_mismatch` for another runner id).
//  * Link: one WebSocket per runner, `GET /internal/runners/connect?runner_id=…` with
//    `Authorization: Bearer <RUNNER_TOKEN>`. JSON text frames, `RunnerToControl` up, `ControlToRunner` down.
//  * Events: `POST /internal/events` (same bearer token), body `EventBatch`, answer `EventBatchResult`.
//    A 2xx means the events are durably queued; until then the runner keeps them in its outbox.
//  * Auth state: `/internal/sessions/:connection_pk/auth…` (see AUTH_STATE below), epoch-checked.
//  * Media of a send: `GET /internal/media/:connection_pk/:id?epoch=…`.
//
// Fencing: every lease has an epoch that grows on each (re)assignment. Everything a runner sends about a
// connection carries the epoch it was granted; the control plane answers only the runner that was granted
// that epoch while it is current: 403 `stale_epoch` when the lease has moved on since, 403
// `not_lease_holder` when this runner never held that epoch, so a runner that lost its lease can never
// write events or auth state again, and no runner touches a connection it does not hold.
import { z } from 'zod';
import { connectionStatuses } from './connections';
import { GroupAction, GroupAnswer, groupCommandErrorCodes } from './groups';
import { MAX_SCHEDULER_SHARDS } from './shards';

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
  /** protocol/inbound-content.ts inboundTypeOf: 'text', 'image', 'location', 'contacts', 'poll', …; other Baileys content types by name. */
  type: z.string().min(1).max(40),
  text: z.string().nullable(),
  /**
   * The stored `content`: the structured shape of its type (protocol/inbound-content.ts), or for other types the
   * Baileys message content (JSON, bounded by the runner). Older runners send the Baileys content for every type but text.
   */
  content: z.unknown().nullable(),
  /** The Baileys message content as JSON (bounded by the runner): what a reply quoting it or a forward of it is built from. Older runners omit it. */
  proto: z.unknown().nullable().optional(),
  /** The id of the message this one quotes (contextInfo.stanzaId). Older runners omit it. */
  reply_to: z.string().min(1).max(128).nullable().optional(),
  /** The JIDs it mentions (contextInfo.mentionedJid). Older runners omit it. */
  mentions: z.array(z.string().min(1).max(128)).max(1024).nullable().optional(),
  timestamp: Iso,
  /** 'live' for messages as they happen, 'history' for history sync. */
  source: z.enum(['live', 'history']),
  /** A group chat's subject, when the runner knows it (it names the chat). Optional: older runners omit it. */
  chat_name: z.string().max(256).nullable().optional(),
});
export type WireMessage = z.infer<typeof WireMessage>;

export const deliveryStatuses = ['pending', 'sent', 'delivered', 'read', 'played', 'failed'] as const;

/**
 * A change someone made to a message already sent (runner/message-changes.ts builds it from Baileys): an
 * edit (the new text), a revoke for everyone, a reaction (empty emoji removes it), a poll vote (the option
 * names now chosen; empty retracts). The control plane decides whether its author may make it.
 */
export const MessageChange = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('edit'), text: z.string().nullable() }),
  z.object({ kind: z.literal('revoke') }),
  z.object({ kind: z.literal('reaction'), emoji: z.string().max(64) }),
  z.object({ kind: z.literal('poll_vote'), options: z.array(z.string().max(512)).max(12) }),
]);
export type MessageChange = z.infer<typeof MessageChange>;
/** Most contacts in one `contacts.upsert` event (history sync brings the address book in chunks of these). */
export const MAX_CONTACTS_PER_EVENT = 500;
const ContactName = z.string().min(1).max(256).nullable().optional();

/**
 * What the account knows about one person: the JID the chat lives under (the phone number's when known,
 * else the LID), the other form, and names. A field left out is unknown, not cleared.
 */
export const WireContact = z.object({
  jid: z.string().min(1).max(128),
  lid: z.string().min(1).max(128).nullable().optional(),
  /** The name the account saved for them (address book). */
  name: ContactName,
  /** The name they set themselves (push name). */
  push_name: ContactName,
  /** A business's verified name. */
  verified_name: ContactName,
});
export type WireContact = z.infer<typeof WireContact>;

/**
 * A call offered to the account (Baileys' `call` event, status `offer`). `chat_id` is the caller's chat
 * (the phone number's JID when known, as for messages); `rejected` says whether the runner rejected it
 * under the connection's call policy (GET /internal/calls/:pk/policy).
 */
export const WireCall = z.object({
  call_id: z.string().min(1).max(128),
  /** Who calls, as WhatsApp named them (a phone-number or LID JID, device suffix dropped). */
  from: z.string().min(1).max(128),
  chat_id: z.string().min(1).max(128),
  is_video: z.boolean(),
  is_group: z.boolean(),
  /** A group call's group. */
  group_id: z.string().max(128).nullable(),
  /** Delivered when the account came back online: the call most likely ended meanwhile. */
  offline: z.boolean(),
  timestamp: Iso,
  rejected: z.boolean(),
  /** The text the runner sent the caller after rejecting, if the policy names one and it was sent. */
  reject_message_id: z.string().max(128).nullable(),
});
export type WireCall = z.infer<typeof WireCall>;

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
  /** A message was edited, revoked, reacted to or voted on: `target_id` is its provider_message_id. */
  z.object({
    ...eventBase,
    type: z.literal('message.change'),
    chat_id: z.string().min(1).max(128),
    target_id: z.string().min(1).max(128),
    /** The change came from this account (another of its devices, or our own send). */
    from_me: z.boolean(),
    /** Who made it (the contact, or the participant in a group), device suffix dropped; null when from_me. */
    author: z.string().max(128).nullable(),
    /** A revoke in a group by someone else than the sender: whether the group's metadata names the author an admin. */
    by_admin: z.boolean().optional(),
    /** When it was made (the sender's clock). */
    timestamp: Iso,
    change: MessageChange,
  }),
  z.object({ ...eventBase, type: z.literal('contacts.upsert'), contacts: z.array(WireContact).min(1).max(MAX_CONTACTS_PER_EVENT) }),
  z.object({ ...eventBase, type: z.literal('call.offer'), call: WireCall }),
]);
export type RunnerEvent = z.infer<typeof RunnerEvent>;

/**
 * Facts a runner reports (a message it received or sent, a receipt): stored idempotently, so they are kept
 * even from a holder whose lease has moved on. Everything else (status, QR) speaks for the lease.
 */
export const isIdempotentFact = (e: RunnerEvent) =>
  e.type === 'message.upsert' || e.type === 'message.status' || e.type === 'message.change' || e.type === 'contacts.upsert' || e.type === 'call.offer';

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
  rejected: z.array(z.object({ connection_pk: ConnectionPk, reason: z.enum(['stale_epoch', 'not_lease_holder', 'unknown_connection']) })),
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

/** `sticker` (a WebP, no caption) needs the `send-content` feature: protocol-1 runners do not know it. */
export const sendMediaKinds = ['image', 'document', 'audio', 'video', 'sticker'] as const;

/**
 * A file to send. The runner downloads `source.url` itself (GET with its bearer token), only when it and
 * every redirect are under its CONTROL_PLANE_URL (`/internal/media/<ref>`; anything else is refused as
 * media_unavailable), at most MAX_MEDIA_BYTES, then uploads it to WhatsApp. `filename` is a document's file name; `ptt` marks audio as a voice note.
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

/** A message's key as WhatsApp addresses it (Baileys' WAMessageKey), for reactions and quoted replies. */
export const MessageKey = z.object({
  id: z.string().min(1).max(128),
  remote_jid: z.string().min(1).max(128),
  from_me: z.boolean(),
  /** In a group, who sent the message (absent for our own). */
  participant: z.string().min(1).max(128).optional(),
});
export type MessageKey = z.infer<typeof MessageKey>;

/** A stored message as WhatsApp knows it: its key and its content, a proto Message as JSON (bytes as base64). What a reply quotes, a forward sends. */
export const QuotedMessage = z.object({ key: MessageKey, message: z.record(z.string(), z.unknown()) });
export type QuotedMessage = z.infer<typeof QuotedMessage>;

/**
 * What a send carries when it is not a text or a file. Built by the control plane from the API request
 * (vCards written, message ids resolved to keys), so the runner only maps it to Baileys.
 */
export const SendContent = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('location'),
    latitude: z.number().min(-90).max(90),
    longitude: z.number().min(-180).max(180),
    name: z.string().max(256).optional(),
    address: z.string().max(1024).optional(),
  }),
  /** One card goes as a contactMessage (named by its card), several as a contactsArrayMessage named `display_name`. */
  z.object({
    kind: z.literal('contacts'),
    display_name: z.string().min(1).max(300),
    cards: z.array(z.object({ display_name: z.string().min(1).max(300), vcard: z.string().min(1).max(2048) })).min(1).max(50),
  }),
  /** An empty emoji removes our reaction. */
  z.object({ kind: z.literal('reaction'), key: MessageKey, emoji: z.string().max(32) }),
  z.object({ kind: z.literal('poll'), name: z.string().min(1).max(255), options: z.array(z.string().min(1).max(100)).min(2).max(12), selectable_count: z.number().int().min(0) }),
  /** Forward a stored message: its key (whether it was ours decides WhatsApp's "forwarded" mark) and its whole content. */
  z.object({ kind: z.literal('forward'), message: QuotedMessage }),
]);
export type SendContent = z.infer<typeof SendContent>;

/**
 * The preview of a link in a text, read by the control plane (the runner fetches nothing a tenant links
 * to). Needs no feature: an older runner drops it and sends the text as it always did.
 */
export const LinkPreview = z.object({
  url: z.string().min(1).max(2048),
  /** The URL as the text has it. */
  matched_text: z.string().min(1).max(2048),
  title: z.string().min(1).max(256),
  description: z.string().max(1024).optional(),
});
export type LinkPreview = z.infer<typeof LinkPreview>;

/**
 * What a runner says it understands beyond protocol 1, in its hello. The control plane never gives a runner
 * a command it did not say it understands: an older runner would drop the fields it does not know (zod
 * strips them) and send a bare text instead of, say, a location.
 */
export const runnerFeatures = ['send-content', 'groups', 'chat-actions', 'contacts', 'message-actions'] as const;
export type RunnerFeature = (typeof runnerFeatures)[number];

/** The feature a command needs, if any. */
export const featureNeededBy = (c: Command): RunnerFeature | undefined => {
  if (c.name === 'group') return 'groups';
  if (c.name === 'edit' || c.name === 'revoke') return 'message-actions';
  if (c.name === 'profile-picture') return 'contacts';
  if (c.name === 'read' || c.name === 'presence' || c.name === 'check-numbers') return 'chat-actions';
  return c.name === 'send' && (c.content || c.quoted || c.mentions || c.media?.kind === 'sticker') ? 'send-content' : undefined;
};

/** Chat states (to one chat) and presences (the account's), as POST …/presence takes them. */
export const chatStates = ['composing', 'recording', 'paused'] as const;
export const presenceStates = ['available', 'unavailable'] as const;
/** Most numbers one check-numbers asks WhatsApp about (one usync query). */
export const MAX_CHECK_NUMBERS = 50;
/** Most messages one read command sends receipts for. */
export const MAX_READ_KEYS = 100;

export const Command = z.discriminatedUnion('name', [
  /**
   * Send a text, or with `media` a file whose caption is `text` (may be empty; audio takes no caption, so
   * its text must be empty). `message_id` is chosen by the control plane (idempotency: same id on every retry).
   */
  z.object({
    name: z.literal('send'),
    to: z.string(),
    text: z.string(),
    message_id: z.string(),
    media: SendMedia.optional(),
    /** Instead of a text or a file (then `text` is empty and `media` absent); needs the `send-content` feature. */
    content: SendContent.optional(),
    /** Send as a reply quoting this message; needs `send-content`. */
    quoted: QuotedMessage.optional(),
    /** JIDs the text (or caption) mentions; needs `send-content`. */
    mentions: z.array(z.string().min(1).max(128)).max(50).optional(),
    /** A text's link preview. */
    link_preview: LinkPreview.optional(),
  }),
  z.object({ name: z.literal('pairing-code'), phone_number: z.string().regex(/^\d{6,15}$/) }),
  /** Unlink from the phone (Baileys logout), delete auth state, report logged_out. */
  z.object({ name: z.literal('logout') }),
  /** Close and reopen the socket from the saved auth state. */
  z.object({ name: z.literal('restart') }),
  /** Edit one of our text messages (a protocolMessage MESSAGE_EDIT); needs `message-actions`. */
  z.object({ name: z.literal('edit'), key: MessageKey, text: z.string().min(1).max(65_536) }),
  /** Revoke a message for everyone (a protocolMessage REVOKE); needs `message-actions`. */
  z.object({ name: z.literal('revoke'), key: MessageKey }),
  /** Group management (protocol/groups.ts); needs the `groups` feature. */
  z.object({ name: z.literal('group'), action: GroupAction }),
  /** A person's (or a group's) profile picture URL; needs the `contacts` feature. */
  z.object({ name: z.literal('profile-picture'), jid: z.string().min(1).max(128) }),
  /** Send read receipts for these received messages (Baileys readMessages); needs `chat-actions`. */
  z.object({ name: z.literal('read'), keys: z.array(MessageKey).min(1).max(MAX_READ_KEYS) }),
  /**
   * A chat state to `chat_jid` (composing, recording, paused), or without it the account's presence
   * (available, unavailable); needs `chat-actions`.
   */
  z.object({ name: z.literal('presence'), state: z.enum([...chatStates, ...presenceStates]), chat_jid: z.string().min(1).max(128).optional() }),
  /** Which of these phone-number JIDs are on WhatsApp, asked in one query; needs `chat-actions`. */
  z.object({ name: z.literal('check-numbers'), jids: z.array(z.string().regex(/^\d{6,15}@s\.whatsapp\.net$/)).min(1).max(MAX_CHECK_NUMBERS) }),
]);
export type Command = z.infer<typeof Command>;

export const CommandResult = z.object({
  provider_message_id: z.string().optional(),
  timestamp: Iso.optional(),
  /** send: the JID WhatsApp has the number under, when it is not the one asked for (Brazil's ninth digit). */
  recipient_jid: z.string().max(128).optional(),
  /** send to a LID: the phone-number JID of that person, when known. Their chat lives there (one person, one chat). */
  chat_jid: z.string().max(128).optional(),
  code: z.string().optional(),
  /** group: what the action answered (protocol/groups.ts). */
  group: GroupAnswer.optional(),
  /** profile-picture: where WhatsApp's CDN serves it (a link that expires), or null when there is none to see. */
  picture: z.object({ url: z.string().max(4096).nullable() }).optional(),
  /** check-numbers: per JID asked, in order, whether it is on WhatsApp and the JID WhatsApp has it under. */
  numbers: z
    .array(z.object({ jid: z.string().max(128), exists: z.boolean(), registered_jid: z.string().max(128).nullable() }))
    .max(MAX_CHECK_NUMBERS)
    .optional(),
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
  /** `revoke` of someone else's group message: this account is not an admin of the group. */
  'not_group_admin',
  /** `send`: the connection's pacing queue is at its bound (runner/send-pacing.ts); `retry_after_ms` says when it is not. */
  'send_queue_full',
  ...groupCommandErrorCodes,
] as const;

export const ControlToRunner = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('welcome'),
    runner_id: z.string(),
    heartbeat_interval_ms: z.number().int().positive(),
    /** The control plane's clock (ms since the epoch) when it answered hello: runners stamp events in its time. */
    server_time: z.number().int().positive().optional(),
    /** How many Scheduler shards there are, and which one this link reached: a runner links to each (protocol/shards.ts). Older control planes omit both (one). */
    shards: z.number().int().min(1).max(MAX_SCHEDULER_SHARDS).optional(),
    shard: z.number().int().nonnegative().optional(),
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
    /** How long the control plane waits for the reply: a send the runner paces must not wait past it. Older control planes omit it. */
    timeout_ms: z.number().int().positive().optional(),
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
    /** What it understands beyond protocol 1 (see runnerFeatures); older runners omit it. Unknown names are kept, not refused. */
    features: z.array(z.string().max(40)).max(20).optional(),
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
    error: z
      .object({
        code: z.enum(commandErrorCodes),
        message: z.string(),
        /** With a refusal that clears with time (`send_queue_full`): how soon the same command would be taken. */
        retry_after_ms: z.number().int().nonnegative().optional(),
      })
      .optional(),
    /** How long the runner itself took, from the command's arrival to this reply (for Server-Timing; older runners omit it). */
    elapsed_ms: z.number().nonnegative().optional(),
  }),
]);
export type RunnerToControl = z.infer<typeof RunnerToControl>;

// ---------------------------------------------------------------------------------------------------
// Auth state (Baileys creds + Signal keys), stored in R2 by the control plane for the lease holder.
//
//   GET    /internal/sessions/:pk/auth?epoch=N   → AuthStateDump (404 not_found when there is none; each read is recorded)
//   POST   /internal/sessions/:pk/auth           ← AuthStateWrite
//   DELETE /internal/sessions/:pk/auth?epoch=N   (after logout)
//
// Each refused unless the caller holds the lease at that epoch: 403 stale_epoch / not_lease_holder, or
// 404 connection_not_found (deleted). All three mean: stop touching this connection.
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

/**
 * Received media (runner/media-in.ts → PUT /internal/media-in/:pk/:message_id?epoch=): why a file is stored
 * as metadata only, as `?reason=` (no body) or the Worker's answer. Stored files come with headers
 * x-media-mimetype, x-media-size (= Content-Length), x-media-filename (URI-encoded), x-media-sha256 (hex,
 * the message's fileSha256).
 */
export const mediaInReasons = ['too_large', 'download_failed', 'hash_mismatch', 'unavailable'] as const;
export type MediaInReason = (typeof mediaInReasons)[number];
