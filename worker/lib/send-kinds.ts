// What a send-message request asks for, beyond the seed's text and today's media: which kind it is, the
// outbound row history shows for it (type, text, content), and the structured part of the runner's `send`
// command (vCards written here, stored message ids turned into WhatsApp keys). Pure: the route looks the
// referenced messages up and hands them in.
import { contentKinds, phoneDigits, type SendContact, type SendLocation, type SendMessageBody, type SendPoll } from '../../protocol/messages';
import type { Command, MessageKey, QuotedMessage, SendContent } from '../../protocol/runner';
import type { MessageRow } from '../data/messages';
import { contactCardOf, type ContactsContent, type LocationContent, type MediaContent, type PollContent } from '../../protocol/inbound-content';

/** What the Worker keeps of a sent file (worker/data/media-store.ts MediaDescription). */
type SentFile = { type: string; mimetype: string; filename: string | null; size: number; sha256: string };

type SendCommand = Extract<Command, { name: 'send' }>;

/** A stored message a send refers to (reply_to, reaction.message_id): what its key and quote are built from. */
export type ReferencedRow = Pick<MessageRow, 'providerMessageId' | 'chatId' | 'direction' | 'fromJid' | 'type' | 'text' | 'content' | 'proto'>;

/** vCard text values escape backslash, comma, semicolon and line breaks (RFC 6350 §3.4). */
const vcardText = (v: string) => v.replace(/[\\,;]/g, (c) => `\\${c}`).replace(/\r\n|\r|\n/g, '\\n');

/** The vCard of one contact, with the WhatsApp id WhatsApp uses to offer "Message" / "Add" on it. */
export const vcardOf = (c: SendContact): string => {
  const digits = phoneDigits(c.phone);
  return ['BEGIN:VCARD', 'VERSION:3.0', `FN:${vcardText(c.name)}`, `TEL;type=CELL;type=VOICE;waid=${digits}:+${digits}`, 'END:VCARD'].join('\n');
};

/** The key WhatsApp knows a stored message by: ours (fromMe) or theirs, and in a group who sent it. */
export const messageKeyOf = (row: Pick<ReferencedRow, 'providerMessageId' | 'chatId' | 'direction' | 'fromJid'>): MessageKey => ({
  id: row.providerMessageId!,
  remote_jid: row.chatId,
  from_me: row.direction === 'outbound',
  ...(row.direction === 'inbound' && row.chatId.endsWith('@g.us') && row.fromJid ? { participant: row.fromJid } : {}),
});

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const MEDIA_ROW_TYPES = new Set(['image', 'video', 'audio', 'document', 'sticker']);

/**
 * One of our own sends as the proto message it went out as, from what its row keeps (its content, in the
 * shape every stored message has, or the request's part as rows before that kept it): enough for the quote
 * bar to show a location, a card, a poll or "Photo" (a file's bytes and keys are not kept, so no thumbnail).
 * Undefined for a text or a row it cannot tell.
 */
const ownProto = (row: ReferencedRow): Record<string, unknown> | undefined => {
  if (!isRecord(row.content)) return undefined;
  // Rows from before one shape kept `{ location }`, `{ contacts: [{ name, phone }] }`, `{ poll }`.
  const c = row.content as { location?: SendLocation; contacts?: (SendContact | ContactsContent['contacts'][number])[]; poll?: SendPoll; mimetype?: string; filename?: string | null };
  const location = c.location ?? (row.content as LocationContent);
  if (row.type === 'location' && typeof location.latitude === 'number') {
    const { latitude, longitude, name, address } = location;
    return { locationMessage: { degreesLatitude: latitude, degreesLongitude: longitude, name, address } };
  }
  if (row.type === 'contacts' && c.contacts?.length) {
    const cards = c.contacts.map((card) => ({ displayName: card.name ?? '', vcard: 'vcard' in card ? card.vcard : vcardOf(card) }));
    return cards.length === 1 ? { contactMessage: cards[0] } : { contactsArrayMessage: { displayName: `${cards.length} contacts`, contacts: cards } };
  }
  const poll = c.poll ?? (row.content as PollContent);
  if (row.type === 'poll' && Array.isArray(poll.options)) {
    return { pollCreationMessage: { name: poll.name, options: poll.options.map((optionName) => ({ optionName })), selectableOptionsCount: poll.selectable_count ?? 0 } };
  }
  if (MEDIA_ROW_TYPES.has(row.type)) {
    return { [`${row.type}Message`]: { mimetype: c.mimetype, ...(row.text ? { caption: row.text } : {}), ...(c.filename ? { fileName: c.filename } : {}) } };
  }
  return undefined;
};

/**
 * What a reply shows of the message it quotes. A received message's content is the proto message the
 * runner stored (as JSON): quoted as it was. Our own sends of other kinds are rebuilt from their rows
 * (ownProto); texts are quoted by their text, which is what the recipient sees in the quote bar.
 */
export const quotedOf = (row: ReferencedRow): QuotedMessage => ({
  key: messageKeyOf(row),
  message: (row.type !== 'text' ? protoOf(row) : undefined) ?? (row.direction === 'outbound' ? ownProto(row) : undefined) ?? { conversation: row.text ?? '' },
});

/**
 * The WhatsApp message a row keeps (`proto`: a received message, or our own as WhatsApp echoed it), else for a
 * received row stored before `proto` existed its content, which then was that message (`{ imageMessage: … }`).
 */
const protoOf = (row: ReferencedRow): Record<string, unknown> | undefined => {
  if (isRecord(row.proto)) return row.proto;
  const legacy = row.direction === 'inbound' && isRecord(row.content) && Object.keys(row.content).some((k) => k.endsWith('Message'));
  return legacy ? (row.content as Record<string, unknown>) : undefined;
};

/**
 * A stored message as it is forwarded: a text (either direction) by its text, a received message of another
 * kind by the proto content the runner stored. Our own sends of other kinds keep only our description of
 * them (a file's bytes are gone once sent), so they cannot be forwarded: undefined.
 */
export const forwardedOf = (row: ReferencedRow): QuotedMessage | undefined => {
  if (row.type === 'text') return { key: messageKeyOf(row), message: { conversation: row.text ?? '' } };
  const message = row.direction === 'inbound' ? protoOf(row) : undefined;
  return message ? { key: messageKeyOf(row), message } : undefined;
};

/** What a send refers to, looked up by the route: the message a reply quotes, a reaction reacts to, a forward sends. */
export interface References {
  replyTo?: ReferencedRow;
  reacted?: ReferencedRow;
  /** With its content as it is forwarded (forwardedOf). */
  forwarded?: { row: ReferencedRow; message: QuotedMessage };
}

/** The structured content of a send, when it is not a text or a file. */
export const sendContentOf = (body: SendMessageBody, refs: References): SendContent | undefined => {
  const reacted = refs.reacted;
  if (body.location) return { kind: 'location', ...body.location };
  if (body.contacts) {
    const names = body.contacts.map((c) => c.name);
    return {
      kind: 'contacts',
      display_name: names.length === 1 ? names[0]! : `${names.length} contacts`,
      cards: body.contacts.map((c) => ({ display_name: c.name, vcard: vcardOf(c) })),
    };
  }
  if (body.poll) return { kind: 'poll', name: body.poll.name, options: body.poll.options, selectable_count: body.poll.selectable_count ?? 0 };
  if (body.reaction) return { kind: 'reaction', key: messageKeyOf(reacted!), emoji: body.reaction.emoji };
  if (body.forward) return { kind: 'forward', message: refs.forwarded!.message };
  return undefined;
};

/** A text: no file, sticker or other kind (what a link preview goes with). */
export const isPlainText = (body: SendMessageBody) => contentKinds.every((k) => body[k] === undefined);

/** The mentioned people as JIDs. */
export const mentionJids = (body: Pick<SendMessageBody, 'mentions'>) => body.mentions?.map((m) => `${phoneDigits(m)}@s.whatsapp.net`);

/** The structured part of the runner's send command (empty for a plain text or file). */
export const commandExtras = (body: SendMessageBody, refs: References): Partial<SendCommand> => {
  const content = sendContentOf(body, refs);
  const mentions = mentionJids(body);
  return {
    ...(content ? { content } : {}),
    ...(refs.replyTo ? { quoted: quotedOf(refs.replyTo) } : {}),
    ...(mentions ? { mentions } : {}),
  };
};

/**
 * How the outbound row of a structured kind shows in history: its type, text and content, in the shape a
 * received message of that kind has (protocol/inbound-content.ts), so a tenant reads one shape whichever way
 * it went. Undefined for text and media, which the route stores itself (mediaContentOf).
 */
export const storedKindOf = (
  body: SendMessageBody,
  refs: References = {},
): { type: string; text: string | null; content: Record<string, unknown> | null; proto?: Record<string, unknown> } | undefined => {
  // A forward is stored as what it forwards (a text stays a text), with its content and WhatsApp message.
  const forwarded = refs.forwarded;
  if (body.forward && forwarded) {
    const content = isRecord(forwarded.row.content) && forwarded.row.type !== 'text' ? forwarded.row.content : null;
    return { type: forwarded.row.type, text: forwarded.row.text, content, proto: forwarded.message.message };
  }
  if (body.location) {
    const { latitude, longitude, name, address } = body.location;
    const content: LocationContent = { latitude, longitude, ...(name ? { name } : {}), ...(address ? { address } : {}) };
    return { type: 'location', text: name ?? null, content };
  }
  if (body.contacts) {
    const content: ContactsContent = { contacts: body.contacts.map((c) => contactCardOf(vcardOf(c), c.name)) };
    return { type: 'contacts', text: null, content };
  }
  if (body.poll) {
    const content: PollContent = { name: body.poll.name, options: body.poll.options, selectable_count: body.poll.selectable_count ?? 0 };
    return { type: 'poll', text: body.poll.name, content };
  }
  if (body.reaction) return { type: 'reaction', text: body.reaction.emoji, content: { reaction: body.reaction } };
  return undefined;
};

/** A sent file's content: what a received file of that type shows (MediaContent), from what the Worker stored. */
export const mediaContentOf = (d: SentFile, opts: { ptt?: boolean } = {}): MediaContent => ({
  mimetype: d.mimetype,
  size: d.size,
  ...(d.type === 'document' && d.filename ? { filename: d.filename } : {}),
  ...(d.type === 'audio' ? { ptt: opts.ptt ?? false } : {}),
  sha256: d.sha256,
});

/** What a send quotes and mentions (the row's reply_to and mentions columns), as a received message has them. */
export const sendContextOf = (body: SendMessageBody): { replyTo?: string; mentions?: string[] } => ({
  ...(body.reply_to ? { replyTo: body.reply_to } : {}),
  ...(body.mentions ? { mentions: mentionJids(body) } : {}),
});

/**
 * The fields the request hash covers beyond the seed's (to, message, media). Absent for a request that has
 * none, so a text or file send hashes exactly as before and a retry across a deploy is still a retry.
 */
export const hashedExtras = (body: SendMessageBody): Record<string, unknown> | undefined => {
  const extras = Object.fromEntries(
    (['location', 'contacts', 'poll', 'reaction', 'forward', 'reply_to', 'mentions', 'link_preview'] as const).filter((k) => body[k] !== undefined).map((k) => [k, body[k]]),
  );
  return Object.keys(extras).length ? extras : undefined;
};
