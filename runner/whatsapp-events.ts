// The one place where Baileys' shapes become our protocol's shapes (protocol/runner.ts): messages,
// receipts, connection status, QR codes, and the policy for each way a Baileys socket can close.
// Pure functions only, so every mapping is unit-tested without a socket.
import { truncateUtf8, utf8Bytes } from '../protocol/utf8.js';
import { randomUUID } from 'node:crypto';
import {
  DisconnectReason,
  getContentType,
  isJidBroadcast,
  isJidGroup,
  isJidStatusBroadcast,
  isLidUser,
  jidDecode,
  jidNormalizedUser,
  normalizeMessageContent,
  toNumber,
  type WAMessage,
  type WAMessageUpdate,
  type proto,
} from '@whiskeysockets/baileys';
import type { RunnerEvent, WireMessage } from '../protocol/runner.js';
import { inboundContentOf } from './message-content-in.js';
import { inboundTypeOf } from '../protocol/inbound-content.js';
import { clock } from './clock.js';
import { UNTRUSTED_SERVER_CODE } from './noise-trust.js';

type Status = (typeof import('../protocol/runner.js').deliveryStatuses)[number];
type ConnectionStatus = Extract<RunnerEvent, { type: 'connection.status' }>['status'];

/** History sync keeps this many messages per chat (the newest). */
export const HISTORY_MESSAGES_PER_CHAT = 50;
/** Content JSON larger than this (in UTF-8 bytes) is not forwarded (the flattened fields still are). */
export const MAX_CONTENT_JSON = 16 * 1024;
/**
 * Longest text or caption forwarded, in UTF-8 bytes: WhatsApp's own limit is 65,536 characters (192 KiB
 * of CJK); a server that sends more (a hostile or broken one) has the rest cut, so one message can never
 * grow an event past what the control plane takes.
 */
export const MAX_TEXT_BYTES = 256 * 1024;
/** Push names are a few dozen characters in WhatsApp's apps; anything longer is cut. */
export const MAX_PUSH_NAME_BYTES = 256;

const iso = (ms: number) => new Date(ms).toISOString();

/** `+<digits>` from a JID such as `15551234567:3@s.whatsapp.net`; null for LIDs and non-users. */
export const phoneNumberFromJid = (jid: string | null | undefined): string | null => {
  if (!jid) return null;
  const decoded = jidDecode(jid);
  if (!decoded || decoded.server !== 's.whatsapp.net' || !/^\d{5,20}$/.test(decoded.user)) return null;
  return `+${decoded.user}`;
};

/** The chat a message belongs to, device suffix dropped; a LID chat is named by its phone-number JID when Baileys knows it. */
export const chatIdOf = (key: WAMessage['key']): string | null => {
  const remote = key.remoteJid;
  if (!remote) return null;
  const alt = (key as { remoteJidAlt?: string }).remoteJidAlt;
  if (isLidUser(remote) && alt && !isLidUser(alt)) return jidNormalizedUser(alt);
  return jidNormalizedUser(remote);
};

export const senderOf = (key: WAMessage['key']): string | null => {
  const k = key as { participant?: string | null; participantAlt?: string; remoteJidAlt?: string };
  if (k.participant) {
    if (isLidUser(k.participant) && k.participantAlt && !isLidUser(k.participantAlt)) return jidNormalizedUser(k.participantAlt);
    return jidNormalizedUser(k.participant);
  }
  return chatIdOf(key);
};

/** Our type for a Baileys content (protocol/inbound-content.ts): 'text', 'location', 'contacts', 'poll', …, else the key without `Message`. */
export const messageTypeOf = (content: proto.IMessage | undefined): string | null => {
  const kind = getContentType(content);
  return kind ? inboundTypeOf(kind) : null;
};

const textOf = (m: proto.IMessage): string | null =>
  m.conversation ??
  m.extendedTextMessage?.text ??
  m.imageMessage?.caption ??
  m.videoMessage?.caption ??
  m.documentMessage?.caption ??
  null;

/** Message kinds that carry no user-visible content: Baileys handles them itself. */
const INVISIBLE = new Set(['protocol', 'senderKeyDistribution', 'messageContextInfo', 'reaction', 'pollUpdate']);

const boundedContent = (m: proto.IMessage): unknown => {
  try {
    const json = JSON.stringify(m);
    return utf8Bytes(json) <= MAX_CONTENT_JSON ? JSON.parse(json) : null;
  } catch {
    return null;
  }
};

/** A Baileys message as the gateway stores it, or null when it is not a user-visible chat message. */
export const toWireMessage = (msg: WAMessage, source: WireMessage['source'], ownJid?: string | null): WireMessage | null => {
  const id = msg.key?.id;
  const chat = msg.key ? chatIdOf(msg.key) : null;
  if (!id || !chat || id.length > 128 || chat.length > 128) return null;
  if (isJidStatusBroadcast(chat) || (isJidBroadcast(chat) && !msg.key.fromMe)) return null;
  const content = normalizeMessageContent(msg.message);
  const type = messageTypeOf(content);
  if (!content || !type || INVISIBLE.has(type)) return null;
  const outbound = !!msg.key.fromMe;
  const fullText = textOf(content);
  const text = fullText === null ? null : truncateUtf8(fullText, MAX_TEXT_BYTES);
  const seconds = toNumber(msg.messageTimestamp as number | null | undefined);
  const own = ownJid ? jidNormalizedUser(ownJid) : null;
  return {
    provider_message_id: id,
    chat_id: chat,
    direction: outbound ? 'outbound' : 'inbound',
    from: outbound ? null : senderOf(msg.key),
    to: outbound ? chat : own,
    push_name: outbound || !msg.pushName ? null : truncateUtf8(msg.pushName, MAX_PUSH_NAME_BYTES),
    type,
    text,
    ...inboundContentOf(content, boundedContent),
    timestamp: iso(seconds > 0 ? seconds * 1000 : clock.now()),
    source,
  };
};

export const messageEvent = (message: WireMessage, now = clock.now()): RunnerEvent => ({
  id: `msg:${message.provider_message_id}`,
  at: iso(now),
  type: 'message.upsert',
  message,
});

/** messages.upsert: `notify` is live traffic; `append` (and anything else) is history. */
export const upsertEvents = (
  upsert: { messages: WAMessage[]; type: string },
  ownJid?: string | null,
  now = clock.now(),
): RunnerEvent[] => {
  const source = upsert.type === 'notify' ? 'live' : 'history';
  const out: RunnerEvent[] = [];
  for (const m of upsert.messages) {
    const wire = toWireMessage(m, source, ownJid);
    if (!wire) continue;
    out.push(messageEvent(wire, now));
    // Baileys' event buffer may fold a receipt that came early into the upsert of our own message.
    const status = m.key.fromMe ? deliveryStatusOf(m.status as number | null | undefined) : null;
    if (status) out.push(statusEvent(wire.provider_message_id, wire.chat_id, status, now));
  }
  return out;
};

export const statusEvent = (id: string, chat: string, status: Status, now = clock.now()): RunnerEvent => ({
  id: `st:${id}:${status}`,
  at: iso(now),
  type: 'message.status',
  provider_message_id: id,
  chat_id: chat,
  status,
});

/** The server's ack of a message we sent (Baileys reports only failed acks as updates). */
export const ackEvent = (attrs: { id?: string; from?: string; error?: string }, now = clock.now()): RunnerEvent | null => {
  if (!attrs.id || !attrs.from || attrs.id.length > 128) return null;
  const chat = chatIdOf({ remoteJid: attrs.from });
  if (!chat || chat.length > 128) return null;
  return statusEvent(attrs.id, chat, attrs.error ? 'failed' : 'sent', now);
};

/**
 * Group messages carry their group's subject (it names the chat) when `subjectOf` knows it; answers the
 * groups it did not know, for the caller to look up.
 */
export const nameGroupChats = (events: RunnerEvent[], subjectOf: (groupJid: string) => string | undefined): Set<string> => {
  const unknown = new Set<string>();
  for (const e of events) {
    if (e.type !== 'message.upsert' || !isJidGroup(e.message.chat_id)) continue;
    const subject = subjectOf(e.message.chat_id);
    if (subject) e.message.chat_name = subject;
    else unknown.add(e.message.chat_id);
  }
  return unknown;
};

/** messaging-history.set: only the newest HISTORY_MESSAGES_PER_CHAT messages of each chat. */
export const historyEvents = (messages: WAMessage[], ownJid?: string | null, now = clock.now(), perChat = HISTORY_MESSAGES_PER_CHAT): RunnerEvent[] => {
  const byChat = new Map<string, WireMessage[]>();
  for (const m of messages) {
    const wire = toWireMessage(m, 'history', ownJid);
    if (!wire) continue;
    const list = byChat.get(wire.chat_id) ?? [];
    list.push(wire);
    byChat.set(wire.chat_id, list);
  }
  const out: RunnerEvent[] = [];
  for (const list of byChat.values()) {
    list.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
    for (const wire of list.slice(-perChat)) out.push(messageEvent(wire, now));
  }
  return out;
};

/** Baileys' WebMessageInfo.Status → our delivery status (PENDING is not reported: we know it already). */
export const deliveryStatusOf = (status: number | null | undefined): Status | null => {
  switch (status) {
    case 0:
      return 'failed';
    case 2:
      return 'sent';
    case 3:
      return 'delivered';
    case 4:
      return 'read';
    case 5:
      return 'played';
    default:
      return null;
  }
};

/** messages.update receipts → message.status events with ids stable per (message, status). */
export const statusEvents = (updates: WAMessageUpdate[], now = clock.now()): RunnerEvent[] => {
  const out: RunnerEvent[] = [];
  for (const { key, update } of updates) {
    const status = deliveryStatusOf(update.status as number | null | undefined);
    const chat = chatIdOf(key);
    if (!status || !key.id || !chat || key.id.length > 128 || chat.length > 128) continue;
    out.push(statusEvent(key.id, chat, status, now));
  }
  return out;
};

export const qrEvent = (qr: string, expiresAtMs: number, now = clock.now()): RunnerEvent => ({
  // The QR's first field is the server's ref, unique per QR shown.
  id: `qr:${qr.split(',')[0]!.slice(0, 150)}`,
  at: iso(now),
  type: 'qr',
  qr,
  expires_at: iso(expiresAtMs),
});

export const connectionStatusEvent = (
  status: ConnectionStatus,
  opts: { phone_number?: string | null; reason?: string | null } = {},
  now = clock.now(),
): RunnerEvent => ({
  id: `cs:${randomUUID()}`,
  at: iso(now),
  type: 'connection.status',
  status,
  ...(opts.phone_number !== undefined ? { phone_number: opts.phone_number } : {}),
  ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
});

/** Baileys' QR lifetime: the first ref lives 60 s, later ones 20 s, unless `qrTimeout` is configured. */
export const qrLifetimeMs = (index: number, qrTimeout?: number): number => qrTimeout || (index === 0 ? 60_000 : 20_000);

export type ClosePolicy =
  | { action: 'restart-now' }
  | { action: 'reconnect'; reason: string }
  | { action: 'logged-out' }
  | { action: 'replaced' }
  | { action: 'qr-timeout' }
  | { action: 'stop'; reason: string };

/** Baileys' error when a pairing's account signature fails (lib/Utils/validate-connection.js). */
export const ACCOUNT_SIGNATURE_REFUSED = 'Failed to verify account signature';

/** What the adapter does when a Baileys socket closes. Never fight for a session: 440 stops for good. */
export const closePolicy = (code: number | undefined, ctx: { registered: boolean; sawQr: boolean; message?: string }): ClosePolicy => {
  // Baileys refused a new link whose account signature does not verify (noise-trust.ts made that check
  // real). WhatsApp only relays what the phone signed, so whoever offered it is refused like a forged chain.
  if (ctx.message === ACCOUNT_SIGNATURE_REFUSED) return { action: 'stop', reason: 'untrusted_server' };
  switch (code) {
    case DisconnectReason.restartRequired:
      return { action: 'restart-now' };
    case DisconnectReason.loggedOut:
      return { action: 'logged-out' };
    case DisconnectReason.connectionReplaced:
      return { action: 'replaced' };
    case DisconnectReason.forbidden:
      return { action: 'stop', reason: 'forbidden' };
    case UNTRUSTED_SERVER_CODE:
      // The server failed the certificate checks (noise-trust.ts): never link to it, nor retry into it.
      return { action: 'stop', reason: 'untrusted_server' };
    case DisconnectReason.multideviceMismatch:
      return { action: 'stop', reason: 'multidevice_mismatch' };
    case DisconnectReason.timedOut: // also connectionLost (same code)
      if (!ctx.registered && (ctx.sawQr || ctx.message === 'QR refs attempts ended')) return { action: 'qr-timeout' };
      return { action: 'reconnect', reason: 'timed_out' };
    case DisconnectReason.connectionClosed:
      return { action: 'reconnect', reason: 'connection_closed' };
    case DisconnectReason.badSession:
      return { action: 'reconnect', reason: 'bad_session' };
    case DisconnectReason.unavailableService:
      return { action: 'reconnect', reason: 'unavailable' };
    default:
      return { action: 'reconnect', reason: code ? `closed_${code}` : 'closed' };
  }
};

