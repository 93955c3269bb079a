// Messaging endpoints of the seed: send a message (text, a file, or a richer kind: worker/lib/send-kinds.ts), list chats, read a chat's history.
import { withMedia } from '../media-in/store';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ConnectionId } from '../../protocol/connections';
import { resolveMimetype, sniffMimetype, type MediaSourceHints } from '../../protocol/media';
import { recipientJid } from '../../protocol/recipient';
import { Chat, Message, SendMessageBody, SendMessageResponse, type SendMessageMedia } from '../../protocol/messages';
import type { Command } from '../../protocol/runner';
import { Cursor, limitParam } from '../../protocol/pagination';
import { getConnection } from '../data/connections';
import { referencesOf, refersToStored } from '../data/references';
import { listChats, listMessages, toChat, toMessage } from '../data/messages';
import { decodeCursor, pageHeaders } from '../data/pagination';
import { storeMedia, type StoredMedia } from '../data/media-store';
import { findOutbound, isResendable, markOutbound, markSent, moveOutboundChat, openOutbound, providerIdFor, requestHashOf, type OpenedOutbound } from '../data/outbound';
import { ApiError, connectionNotFound } from '../http/errors';
import { keyRefused } from '../auth/middleware';
import { sha256Hex } from '../auth/credentials';
import { runCommand } from '../scheduler/client';
import { publishRealtime } from '../hub/client';
import { enqueueCommitted } from '../webhooks/enqueue';
import type { Db } from '../data/db';
import type { MessageRow } from '../data/messages';
import type { Env } from '../env';
import { errorContent, errorResponses, jsonBody, jsonContent, newRouter } from '../http/router';
import { limitsConfig } from '../limits/config';
import { sendQuotaExceeded } from '../limits/quotas';
import type { AppEnv } from '../http/context';
import { controlPlaneBase } from '../lib/control-plane-url';
import { commandExtras, hashedExtras, isPlainText, mediaContentOf, sendContextOf, storedKindOf, type References } from '../lib/send-kinds';
import { firstUrl, linkPreviewOf } from '../lib/link-preview';
import { acceptMediaUrl, fetchMedia, maxMediaBytes, mediaFromBase64, mediaSourcePolicy } from '../lib/media-source';

/** How long a send waits for the runner's answer before answering 504 (the message is then 'unknown'). */
const DEFAULT_SEND_TIMEOUT_MS = 20_000;
/** The same for media, which the runner downloads and uploads to WhatsApp before it sends. */
const DEFAULT_MEDIA_SEND_TIMEOUT_MS = 120_000;

type SendContext = Context<AppEnv>;

/** A document's file name from its URL, when the last path segment looks like one. */
const fileNameFromUrl = (name: string | null) => (name && /\.[A-Za-z0-9]{1,8}$/.test(name) && name.length <= 255 ? name : undefined);

/**
 * The file of a media send: decoded or fetched (bounded, SSRF-checked), stored in R2 under the
 * connection, with the mimetype and file name it goes out with.
 */
/** `decoded`: the file given as base64, with its SHA-256 (already taken for the request hash). */
async function storeSendMedia(
  c: SendContext,
  connectionPk: string,
  media: SendFile,
  decoded: { bytes: Uint8Array; sha256: string } | undefined,
): Promise<StoredMedia> {
  let bytes = decoded?.bytes;
  let hints: MediaSourceHints = {};
  let filename = media.filename;
  if (!bytes) {
    const fetched = await fetchMedia(media.url!, {
      policy: mediaSourcePolicy(c.env),
      maxBytes: maxMediaBytes(c.env),
    });
    bytes = fetched.bytes;
    hints = { contentType: fetched.contentType, name: fetched.name };
    if (media.type === 'document') filename ??= fileNameFromUrl(fetched.name);
  }
  if (media.type === 'sticker') assertWebp(bytes);
  const mimetype = media.type === 'sticker' ? 'image/webp' : resolveMimetype({ ...media, type: media.type }, { ...hints, bytes });
  return storeMedia(c.env.MEDIA, connectionPk, bytes, { type: media.type, mimetype, filename: filename ?? null }, decoded?.sha256);
}

/** A file a send carries: `media`, or a sticker (a WebP image, sent as WhatsApp's stickerMessage). */
type SendFile = Omit<SendMessageMedia, 'type'> & { type: SendMessageMedia['type'] | 'sticker' };
const fileOf = (body: SendMessageBody): SendFile | undefined => body.media ?? (body.sticker && { type: 'sticker', ...body.sticker });

/** WhatsApp draws only WebP as a sticker: anything else is refused before it is stored or sent. */
function assertWebp(bytes: Uint8Array) {
  if (sniffMimetype(bytes) === 'image/webp') return;
  const issue = { path: 'sticker', message: 'a sticker must be a WebP image (RIFF…WEBP)' };
  throw new ApiError(400, 'validation_failed', `Invalid json: ${issue.path}: ${issue.message}`, { target: 'json', issues: [issue] });
}

export const messageRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/send-message',
      tags: ['Messages'],
      summary: 'Send a message: a text, a file, a sticker, a location, contact cards, a poll or a reaction',
      description:
        'Sends through the runner that holds the connection and answers once WhatsApp acknowledged the message. ' +
        'Retrying with the same client_message_id never sends twice (nor fetches the media again). ' +
        'A phone number without a WhatsApp account is refused with 400 `invalid_recipient` before anything is sent.\n\n' +
        'With `media`, the file comes as `base64` in the body or from a `url` that Switchboard fetches itself (http(s), ' +
        'public addresses only, 30 s, at most MAX_MEDIA_BYTES, 16 MiB by default); `message` is then the caption. ' +
        'This route accepts bodies up to MAX_BODY_BYTES plus the base64 of MAX_MEDIA_BYTES.\n\n' +
        'Instead of a text or a file, one of `sticker` (a WebP, as `media` takes files), `location`, `contacts`, `poll`, `reaction` or `forward` (then no `message`). With any kind but a ' +
        'reaction, `reply_to` quotes a stored message; with a text or caption, `mentions` names the people it mentions. A `reply_to` ' +
        'or `reaction.message_id` this connection has no message for in this chat is 400 `unknown_message`; through a runner too old ' +
        'for these kinds, 503 `runner_outdated`.',
      request: jsonBody(SendMessageBody),
      responses: {
        200: jsonContent(SendMessageResponse, 'Sent.'),
        ...errorResponses(400, 401, 404, 409, 413, 422, 502, 503, 504),
        429: errorContent(
          'Or `send_quota_exceeded` (the account\'s sends per minute are spent) or `send_queue_full` (the connection is paced and ' +
            'its queue is at its bound). Nothing was sent: retry after `Retry-After` seconds with the same client_message_id.',
        ),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const jid = recipientJid(body.to);
      if (!jid) {
        throw new ApiError(
          400,
          'invalid_recipient',
          '`to` must be a phone number with country code (digits, optional + and separators) or a WhatsApp JID.',
        );
      }
      const media = fileOf(body);
      // Everything that can be judged from the request alone is judged before any work is done.
      let decoded: Uint8Array | undefined;
      if (media?.base64 !== undefined) decoded = mediaFromBase64(media.base64, maxMediaBytes(c.env));
      if (decoded && media?.type === 'sticker') assertWebp(decoded);
      if (media?.url !== undefined) acceptMediaUrl(media.url, mediaSourcePolicy(c.env));
      // Where the runner will download the file: judged now, before anything is fetched or stored.
      const mediaBase = media ? controlPlaneBase(c.env) : undefined;

      const decodedSha256 = decoded ? await sha256Hex(decoded) : undefined;
      const db = c.get('db');
      const started = Date.now();
      // An API key is checked in the send statement itself (requireTenant left it pending, with the scope
      // the route needs); a dashboard session, or a key of a large body, was checked by requireTenant.
      const pendingKey = c.get('pendingApiKey');
      const draft = {
        scope: pendingKey ? { apiKeyHash: pendingKey.hash, requiredScope: pendingKey.scope } : { tenantId: c.get('principal').tenantId },
        connectionId: body.connection_id,
        chatId: jid,
        toJid: jid,
        clientMessageId: body.client_message_id,
        providerMessageId: await providerIdFor(c.env.MESSAGE_ID_SECRET, body.connection_id, body.client_message_id),
        requestHash: body.client_message_id
          ? await requestHashOf({ to: jid, message: body.message, media, mediaSha256: decodedSha256, extras: hashedExtras(body) })
          : undefined,
        sendsPerMinute: limitsConfig(c.env).sendsPerMinute,
      };
      /** The statement judged the key: refused, it is answered as requireTenant would; accepted, whatever follows may be told. */
      const judged = (o: OpenedOutbound) => {
        c.set('pendingApiKey', undefined);
        if (o.refused) throw keyRefused(o.refused, pendingKey?.scope);
      };
      /** An earlier attempt under this client_message_id must have asked for the same thing. */
      const sameRequest = <T extends { requestHash: string | null; earlierAgeMs?: number } | undefined>(m: T): T => {
        if (m && m.earlierAgeMs !== undefined && m.requestHash && draft.requestHash && m.requestHash !== draft.requestHash) {
          throw new ApiError(
            409,
            'idempotency_key_reused',
            `client_message_id "${body.client_message_id}" was already used for a different message (another recipient or content); use a new id for a new message.`,
          );
        }
        return m;
      };
      const answer = (id: string) => ({ status: 'sent' as const, client_message_id: body.client_message_id ?? null, provider_message_id: id });
      const notConnected = ({ status, statusReason }: NonNullable<OpenedOutbound['connection']>) =>
        new ApiError(
          409,
          'connection_not_connected',
          statusReason === 'runner_unreachable'
            ? `Connection "${body.connection_id}" is reconnecting (its runner is unreachable and it is being moved); retry shortly with the same client_message_id.`
            : `Connection "${body.connection_id}" is ${status}; link it (GET /api/get-qr/${body.connection_id}) before sending.`,
          { status, status_reason: statusReason },
        );

      let opened: OpenedOutbound;
      let stored: StoredMedia | undefined;
      let mediaMs = 0;
      // The row history shows: a structured kind's own, else text or media; what it quotes and mentions in their own columns.
      let kind = storedKindOf(body);
      const context = sendContextOf(body);
      let refs: References = {};
      if (!media && !refersToStored(body)) {
        opened = await openOutbound(db, { ...draft, ...context, ...(kind ?? { type: 'text', text: body.message! }) });
      } else {
        // A retry of a send that already went out answers before the file is fetched or stored again.
        const earlier = await findOutbound(db, draft);
        judged(earlier);
        if (!earlier.connection) throw connectionNotFound(body.connection_id);
        sameRequest(earlier.message);
        if (earlier.message && !isResendable(earlier.message.status)) return c.json(answer(earlier.message.providerMessageId), 200);
        if (earlier.connection.status !== 'connected') throw notConnected(earlier.connection);
        // What the send refers to (a reply, a reaction, a forward) must be a message this connection has: keys and content come from there.
        refs = await referencesOf(db, earlier.connection.pk, jid, body);
        // A forward is stored as what it forwards.
        if (refs.forwarded) kind = storedKindOf(body, refs);
        if (!media) {
          opened = await openOutbound(db, { ...draft, ...context, ...(kind ?? { type: 'text', text: body.message! }) });
        } else {
          const storing = Date.now();
          stored = await storeSendMedia(c, earlier.connection.pk, media, decoded && { bytes: decoded, sha256: decodedSha256! });
          mediaMs = Date.now() - storing;
          try {
            opened = await openOutbound(db, { ...draft, ...context, type: media.type, text: body.message || null, content: mediaContentOf(stored.description, media) });
          } catch (e) {
            const { key } = stored;
            c.get('afterResponse')(() => c.env.MEDIA.delete(key));
            throw e;
          }
        }
      }
      judged(opened);
      const { connection } = opened;
      // Connected, yet no row: a concurrent request with the same id inserted it first (the insert waited
      // for it and did nothing), after this statement's snapshot. It is committed now: read it.
      const row = sameRequest(opened.message ?? (connection?.status === 'connected' ? (await findOutbound(db, draft)).message : undefined));
      if (!connection) throw connectionNotFound(body.connection_id);
      // The file is not needed once the send has an outcome the runner will not retry (or never started).
      const discardMedia = () => {
        if (!stored) return;
        const { key } = stored;
        c.get('afterResponse')(() => c.env.MEDIA.delete(key));
      };
      // A retry of a request that already went out answers the first result and sends nothing. One that
      // finds the earlier attempt still `pending` and recent waits for it: that attempt may be in flight (a
      // duplicate sent at once), or just answered with its `sent` not yet written.
      const settled = row ? await earlierOutcome(db, draft, row, sendTimeoutMs(c.env, Boolean(media))) : undefined;
      if (row && settled && !isResendable(settled)) {
        discardMedia();
        return c.json(answer(row.providerMessageId), 200);
      }
      if (connection.status !== 'connected') {
        discardMedia();
        throw notConnected(connection);
      }
      // Only when a message that arrived (not one we sent) already holds this WhatsApp id.
      if (!row) throw new ApiError(409, 'conflict', 'A received message already uses the WhatsApp id of this send; send it with another client_message_id.');
      const command: Command = { name: 'send', to: jid, text: body.message ?? '', message_id: row.providerMessageId, ...commandExtras(body, refs) };
      // A text's link preview is read now, once the send is sure to go out (a retry answered above reads nothing).
      let previewMs: number | undefined;
      if (isPlainText(body) && body.link_preview !== false && firstUrl(body.message!)) {
        const reading = Date.now();
        const preview = await linkPreviewOf(body.message!, c.env);
        previewMs = Date.now() - reading;
        if (preview) command.link_preview = preview;
      }
      if (media && stored) {
        command.media = {
          kind: media.type,
          mimetype: stored.description.mimetype,
          ...(stored.description.filename ? { filename: stored.description.filename } : {}),
          ...(media.ptt ? { ptt: true } : {}),
          source: { url: `${mediaBase}${stored.path}` },
        };
      }
      const dispatched = Date.now();
      const outcome = await runCommand(
        c.env,
        connection.pk,
        command,
        sendTimeoutMs(c.env, Boolean(media)),
        { tenantId: connection.tenantId, sendsPerMinute: connection.sendsPerMinute },
      );
      // Where the time went, for operators and benchmarks (Server-Timing shows in browser devtools too):
      // the database, the whole runner round trip, and within it the runner's own part (WhatsApp included).
      c.header(
        'Server-Timing',
        [
          `db;dur=${dispatched - started - mediaMs - (previewMs ?? 0)}`,
          ...(media ? [`media;dur=${mediaMs}`] : []),
          ...(previewMs === undefined ? [] : [`preview;dur=${previewMs}`]),
          `runner;dur=${Date.now() - dispatched}`,
          ...(outcome.runnerMs === undefined ? [] : [`whatsapp;dur=${outcome.runnerMs};desc="runner and WhatsApp"`]),
        ].join(', '),
      );
      // After a timeout the runner may still be downloading the file: it is left to the bucket's lifecycle rule.
      if (outcome.ok || outcome.error.code !== 'timeout') discardMedia();
      if (outcome.ok) {
        // WhatsApp has the number under another JID (the runner asked): the conversation lives there.
        // A send to a LID whose phone number the runner knows: the person's chat is under that number.
        const moved = outcome.result.chat_jid ?? outcome.result.recipient_jid;
        const registered = moved ? recipientJid(moved) : null;
        if (registered && registered !== jid) await moveOutboundChat(db, row.id, registered);
        const sentAt = outcome.result.timestamp ? new Date(outcome.result.timestamp) : undefined;
        // Off the response path: the server-ack event moves the row to 'sent' as well (and tells it) if this is lost.
        c.get('afterResponse')(() => tellSent(c.env, db, row.id, body.connection_id, sentAt));
        return c.json(answer(row.providerMessageId), 200);
      }
      const { code, message } = outcome.error;
      switch (code) {
        case 'not_connected':
          throw new ApiError(409, 'connection_not_connected', `Connection "${body.connection_id}" is not connected right now.`);
        case 'invalid_recipient':
          await markOutbound(db, row.id, 'failed', { error: message });
          throw new ApiError(400, 'invalid_recipient', message);
        case 'bad_command':
          await markOutbound(db, row.id, 'failed', { error: message });
          throw new ApiError(400, 'bad_request', `The runner refused the message: ${message}`);
        case 'media_too_large':
          await markOutbound(db, row.id, 'failed', { error: message });
          throw new ApiError(413, 'media_too_large', `The runner refused the file: ${message}`);
        case 'media_unavailable':
          // The runner could not read the file we stored for it: our side, worth a retry.
          await markOutbound(db, row.id, 'failed', { error: message });
          throw new ApiError(502, 'media_unavailable', `The runner could not get the file: ${message}; retry with the same client_message_id.`);
        case 'send_quota_exceeded':
          await markOutbound(db, row.id, 'failed', { error: message });
          throw sendQuotaExceeded(connection.sendsPerMinute, outcome.retryAfterSeconds ?? 60);
        case 'send_queue_full': {
          // Nothing was sent: the connection's pacing queue (its runner's) was at its bound. Retry later, same id.
          const retryAfter = outcome.retryAfterSeconds ?? 1;
          await markOutbound(db, row.id, 'failed', { error: message });
          throw new ApiError(
            429,
            'send_queue_full',
            `Connection "${body.connection_id}" is sending as fast as its pacing allows and its queue is full; retry in ${retryAfter} s with the same client_message_id.`,
            undefined,
            { 'retry-after': String(retryAfter) },
          );
        }
        case 'runner_outdated':
          // Nothing was sent: the runner was not asked. It clears once the runner is upgraded (or the connection moves).
          await markOutbound(db, row.id, 'failed', { error: message });
          throw new ApiError(503, 'runner_outdated', `${message} Retry with the same client_message_id once the runners are upgraded.`);
        case 'no_runner':
          throw new ApiError(503, 'runner_unavailable', 'No runner holds this connection right now; retry with the same client_message_id.');
        case 'timeout':
          await markOutbound(db, row.id, 'unknown', { error: message });
          throw new ApiError(504, 'runner_timeout', 'The runner did not confirm the send in time; retry with the same client_message_id.', {
            provider_message_id: row.providerMessageId,
          });
        default:
          await markOutbound(db, row.id, 'failed', { error: message });
          throw new ApiError(502, 'send_failed', `WhatsApp did not take the message: ${message}`);
      }
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/chats/{connection_id}',
      tags: ['Messages'],
      summary: 'List chats',
      description: 'Most recently active first, with the last message and unread count.',
      request: {
        params: z.object({ connection_id: ConnectionId }),
        query: z.object({ limit: limitParam(100, 500), before: Cursor.optional() }),
      },
      responses: { 200: jsonContent(z.array(Chat), 'Chats.'), ...errorResponses(400, 401, 404) },
    }),
    async (c) => {
      const { connection_id } = c.req.valid('param');
      const { limit, before } = c.req.valid('query');
      const db = c.get('db');
      const connection = await getConnection(db, c.get('principal').tenantId, connection_id);
      const rows = await listChats(db, connection.id, limit, decodeCursor(before, 'uuid'));
      return c.json(rows.map(toChat), 200, pageHeaders(c.req.url, rows.map((r) => ({ at: r.lastMessageAt, id: r.id })), limit));
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/messages/{connection_id}/{chat_id}',
      tags: ['Messages'],
      summary: "List a chat's messages",
      description: 'Newest first. `chat_id` is a JID or a phone number with country code.',
      request: {
        params: z.object({
          connection_id: ConnectionId,
          chat_id: z.string().min(1).max(128).meta({ example: '923001234567@s.whatsapp.net' }),
        }),
        query: z.object({ limit: limitParam(50, 500), before: Cursor.optional() }),
      },
      responses: { 200: jsonContent(z.array(Message), 'Messages.'), ...errorResponses(400, 401, 404) },
    }),
    async (c) => {
      const { connection_id, chat_id } = c.req.valid('param');
      const { limit, before } = c.req.valid('query');
      const jid = recipientJid(chat_id);
      if (!jid) throw new ApiError(400, 'validation_failed', '`chat_id` must be a WhatsApp JID or a phone number with country code.');
      const db = c.get('db');
      const connection = await getConnection(db, c.get('principal').tenantId, connection_id);
      const rows = await listMessages(db, connection.id, jid, limit, decodeCursor(before, 'serial'));
      return c.json(
        await withMedia(db, connection.id, connection_id, rows.map((r) => toMessage(r, connection_id))),
        200,
        pageHeaders(c.req.url, rows.map((r) => ({ at: r.sentAt, id: r.id })), limit),
      );
    },
  );

/**
 * A send WhatsApp acknowledged: the row becomes `sent`, its message.sent and message.status deliveries go on
 * the webhook queue, and realtime clients hear `message-sent` and `message-status`.
 */
async function tellSent(env: Env, db: Db, messageId: number, connectionId: string, sentAt?: Date) {
  const { row, tenantId, deliveries } = await markSent(db, messageId, sentAt);
  await enqueueCommitted(env, deliveries);
  if (!row || !tenantId) return;
  const ids = { connectionId, chatId: row.chatId, clientMessageId: row.clientMessageId, providerMessageId: row.providerMessageId ?? '' };
  await publishRealtime(env, [
    {
      tenantId,
      events: [
        { type: 'message.sent', ...ids, message: toMessage(row, connectionId) },
        { type: 'message.status', ...ids, status: 'sent', at: row.updatedAt.toISOString() },
      ],
    },
  ]);
}

const sendTimeoutMs = (env: Env, media: boolean) =>
  media ? Number(env.MEDIA_SEND_TIMEOUT_MS) || DEFAULT_MEDIA_SEND_TIMEOUT_MS : Number(env.SEND_TIMEOUT_MS) || DEFAULT_SEND_TIMEOUT_MS;
const EARLIER_POLL_MS = 50;

/**
 * The status to act on for an outbound row: its own, unless an earlier attempt recorded it `pending`
 * within the send timeout, in which case that attempt may still be running (or just done, with `sent`
 * on its way): its outcome is awaited, at most until it would have timed out. Past that it is taken as
 * dead and the caller sends again (same WhatsApp id, so the recipient never sees two).
 */
async function earlierOutcome(
  db: Db,
  draft: Parameters<typeof findOutbound>[1],
  row: NonNullable<OpenedOutbound['message']>,
  timeoutMs: number,
): Promise<MessageRow['status']> {
  if (row.status !== 'pending' || row.earlierAgeMs === undefined || row.earlierAgeMs >= timeoutMs) return row.status;
  const deadline = Date.now() + (timeoutMs - row.earlierAgeMs) + 1000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, EARLIER_POLL_MS));
    const now = (await findOutbound(db, draft)).message;
    if (!now || now.status !== 'pending') return now?.status ?? 'pending';
  }
  return 'pending';
}
