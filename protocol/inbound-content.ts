// What a stored message's `content` holds, per `type`: the documented, structured shape of each kind, the
// same whichever way the message went (received, echoed from the account's other devices, or sent through
// POST /api/send-message). The pure mapping from WhatsApp's message (a proto Message, as Baileys decodes it or
// as its JSON) to that shape lives here too, so the runner (which stores what it receives) and the control
// plane (which stores what it sends) cannot drift apart. No Baileys import: it runs in workerd as well.
import { z } from 'zod';

/**
 * What a received message's structured fields keep at most (longer strings are cut, extra entries dropped,
 * never refused): WhatsApp's apps send far less, and a hostile sender must not grow one event without bound.
 * Strings: names and addresses 1024 characters, a poll option 256, a vCard 8 KiB, a contacts message's vCards
 * 64 KiB together.
 */
const MAX_FIELD = 1024;
export const INBOUND_BOUNDS = { contacts: 50, phones: 10, options: 32, mentions: 1024, option: 256, vcard: 8 * 1024, vcards: 64 * 1024 } as const;
/** The fallback for kinds without a shape of their own: Baileys' proto JSON of the message, if no larger than this. */
export const MAX_FALLBACK_CONTENT_BYTES = 16 * 1024;
/** A received file's JPEG preview is kept (base64) only up to this size. */
export const MAX_THUMBNAIL_BYTES = 8 * 1024;

export const LocationContent = z
  .object({
    latitude: z.number().meta({ example: 24.8607 }),
    longitude: z.number().meta({ example: 67.0011 }),
    name: z.string().optional().meta({ example: 'Head office' }),
    address: z.string().optional().meta({ example: 'Shahrah-e-Faisal, Karachi' }),
    live: z.boolean().optional().meta({ description: 'Set (true) for a live location: its first position.' }),
  })
  .meta({ id: 'LocationContent', description: '`type: location`: a pinned (or live) location, degrees WGS 84.' });
export type LocationContent = z.infer<typeof LocationContent>;

export const ContactCard = z
  .object({
    name: z.string().nullable().meta({ description: "The card's name (its FN, else the message's display name).", example: 'Alice Example' }),
    phones: z
      .array(
        z.object({
          number: z.string().meta({ description: 'The number as the card writes it.', example: '+15550100001' }),
          jid: z.string().nullable().meta({ description: "The WhatsApp JID the card names for it (its `waid`), or null.", example: '15550100001@s.whatsapp.net' }),
        }),
      )
      .meta({ description: "The card's TEL entries." }),
    vcard: z.string().meta({ description: 'The vCard itself.' }),
  })
  .meta({ id: 'ContactCard' });
export type ContactCard = z.infer<typeof ContactCard>;

export const ContactsContent = z
  .object({ contacts: z.array(ContactCard) })
  .meta({ id: 'ContactsContent', description: '`type: contacts`: one contact card (a contactMessage) or several (a contactsArrayMessage).' });
export type ContactsContent = z.infer<typeof ContactsContent>;

export const PollContent = z
  .object({
    name: z.string().meta({ example: 'Lunch?' }),
    options: z.array(z.string()).meta({ example: ['Pizza', 'Sushi'] }),
    selectable_count: z.number().int().meta({ description: 'How many options one person may pick; 0 for any number.', example: 1 }),
  })
  .meta({ id: 'PollContent', description: '`type: poll`: the poll as created (votes are not part of it).' });
export type PollContent = z.infer<typeof PollContent>;

export const MediaContent = z
  .object({
    mimetype: z.string().nullable().meta({ example: 'image/jpeg' }),
    size: z.number().int().nullable().meta({ description: "The file's size in bytes.", example: 48213 }),
    filename: z.string().optional().meta({ description: "A document's file name.", example: 'brochure.pdf' }),
    seconds: z.number().int().optional().meta({ description: 'Audio and video: length in seconds.' }),
    ptt: z.boolean().optional().meta({ description: 'Audio: a voice note (push-to-talk).' }),
    width: z.number().int().optional(),
    height: z.number().int().optional(),
    animated: z.boolean().optional().meta({ description: 'Sticker: animated.' }),
    thumbnail: z.string().optional().meta({ description: `Received images, videos and stickers: WhatsApp's small JPEG preview, base64 (only when at most ${MAX_THUMBNAIL_BYTES / 1024} KiB).` }),
    sha256: z.string().nullable().meta({ description: "Hex SHA-256 of the file's bytes.", example: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' }),
  })
  .meta({
    id: 'MediaContent',
    description: '`type` image, video, audio, document or sticker: what the file is (the caption is `message`). The file itself is not part of it.',
  });
export type MediaContent = z.infer<typeof MediaContent>;

/** `content` of a stored message, by its `type`: documented in the OpenAPI document on Message. */
export const MessageContent = z
  .union([LocationContent, ContactsContent, PollContent, MediaContent, z.record(z.string(), z.unknown())])
  .nullable()
  .meta({
    id: 'MessageContent',
    description:
      'By `type`: `text`: null. `location`: LocationContent. `contacts`: ContactsContent. `poll`: PollContent. ' +
      '`image`, `video`, `audio`, `document`, `sticker`: MediaContent. `reaction` (sent): `{ reaction: { message_id, emoji } }`. ' +
      `Any other type (named after WhatsApp's message kind, e.g. \`buttonsResponse\`): WhatsApp's message as JSON when it is at most ${MAX_FALLBACK_CONTENT_BYTES / 1024} KiB, else null. ` +
      'Messages stored before December 2026 keep the raw form for every kind but text.',
  });

/** The kinds with a shape of their own, by the WhatsApp (Baileys) content key they come as. */
const KIND_OF_KEY: Record<string, string> = {
  conversation: 'text',
  extendedTextMessage: 'text',
  imageMessage: 'image',
  videoMessage: 'video',
  ptvMessage: 'video',
  audioMessage: 'audio',
  documentMessage: 'document',
  stickerMessage: 'sticker',
  locationMessage: 'location',
  liveLocationMessage: 'location',
  contactMessage: 'contacts',
  contactsArrayMessage: 'contacts',
  pollCreationMessage: 'poll',
  pollCreationMessageV2: 'poll',
  pollCreationMessageV3: 'poll',
  pollCreationMessageV5: 'poll',
};

/** A stored message's `type` for a WhatsApp content key: ours for the kinds above, else the key without its `Message` suffix (≤ 40 chars). */
export const inboundTypeOf = (key: string): string => KIND_OF_KEY[key] ?? (key.replace(/Message$/, '').slice(0, 40) || key.slice(0, 40));

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const cut = (s: string, max = MAX_FIELD) => (s.length > max ? s.slice(0, max) : s);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length ? cut(v) : undefined);

/** A proto number: a number, a decimal string (proto JSON of a 64-bit field), or a Long ({ low, high }). */
export const protoNumber = (v: unknown): number | undefined => {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) return Number(v);
  if (isRecord(v) && typeof v.low === 'number' && typeof v.high === 'number') {
    const n = v.high * 2 ** 32 + (v.low >>> 0);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
};
const int = (v: unknown): number | undefined => {
  const n = protoNumber(v);
  return n === undefined || n < 0 ? undefined : Math.trunc(n);
};

const B64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
/** Proto bytes as they come: a Uint8Array (Buffer), base64 (proto JSON), or Buffer's JSON ({ type: 'Buffer', data }); at most `max`. */
const protoBytes = (v: unknown, max: number): ArrayLike<number> | undefined => {
  let bytes: ArrayLike<number> | undefined;
  if (v instanceof Uint8Array) bytes = v;
  else if (isRecord(v) && v.type === 'Buffer' && Array.isArray(v.data)) bytes = v.data as number[];
  else if (typeof v === 'string' && v.length && v.length <= Math.ceil(max / 3) * 4 + 4 && B64.test(v)) {
    try {
      bytes = Uint8Array.from(atob(v.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    } catch {
      return undefined;
    }
  }
  return bytes && bytes.length && bytes.length <= max ? bytes : undefined;
};
/** Hex of proto bytes (a hash), or null. */
export const protoBytesHex = (v: unknown): string | null => {
  const bytes = protoBytes(v, 512);
  return bytes ? Array.from(bytes, (b) => (b & 0xff).toString(16).padStart(2, '0')).join('') : null;
};
const protoBytesBase64 = (v: unknown, max: number): string | undefined => {
  const bytes = protoBytes(v, max);
  return bytes ? btoa(Array.from(bytes, (b) => String.fromCharCode(b & 0xff)).join('')) : undefined;
};

/** vCard text values unescape `\,` `\;` `\\` and `\n` (RFC 6350 §3.4). */
const unescapeVcard = (v: string) => v.replace(/\\([\\,;nN])/g, (_m, c: string) => (c === 'n' || c === 'N' ? '\n' : c));

/**
 * A vCard's name and phone numbers (version 2.1, 3.0 or 4.0): FN (else N), and each TEL with the WhatsApp id
 * WhatsApp's apps write as its `waid` parameter. Folded lines are unfolded; unknown properties are ignored.
 */
export const parseVcard = (vcard: string): { name: string | null; phones: { number: string; jid: string | null }[] } => {
  const lines = vcard.replace(/\r\n|\r/g, '\n').replace(/\n[ \t]/g, '').split('\n');
  let fn: string | null = null;
  let n: string | null = null;
  const phones: { number: string; jid: string | null }[] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    // Group prefixes (item1.TEL) are dropped; parameters follow the property name after ';'.
    const [rawName, ...params] = line.slice(0, colon).split(';');
    const prop = rawName!.replace(/^[^.]*\./, '').toUpperCase();
    const value = line.slice(colon + 1).trim();
    if (prop === 'FN' && value && fn === null) fn = cut(unescapeVcard(value), 256);
    else if (prop === 'N' && value && n === null) {
      const [family = '', given = ''] = value.split(/(?<!\\);/).map(unescapeVcard);
      n = cut([given, family].filter(Boolean).join(' '), 256) || null;
    } else if (prop === 'TEL' && phones.length < INBOUND_BOUNDS.phones) {
      const waid = params.map((p) => /^waid=(\d{5,20})$/i.exec(p.trim())?.[1]).find(Boolean);
      const number = cut(value.replace(/^tel:/i, ''), 64);
      if (number || waid) phones.push({ number: number || `+${waid}`, jid: waid ? `${waid}@s.whatsapp.net` : null });
    }
  }
  return { name: fn ?? n, phones };
};

/** A contact card as stored, from its vCard (and the display name WhatsApp's message gives it). */
export const contactCardOf = (vcard: string, displayName?: string): ContactCard => card({ vcard, displayName }) ?? { name: null, phones: [], vcard };

const card = (c: Json, fallbackName?: string): ContactCard | undefined => {
  const vcard = typeof c.vcard === 'string' ? cut(c.vcard, INBOUND_BOUNDS.vcard) : '';
  const parsed = parseVcard(vcard);
  const name = parsed.name ?? str(c.displayName) ?? fallbackName ?? null;
  if (!vcard && !name) return undefined;
  return { name, phones: parsed.phones, vcard };
};

const media = (m: Json, kind: string): MediaContent => {
  const out: MediaContent = { mimetype: str(m.mimetype) ?? null, size: int(m.fileLength) ?? null, sha256: protoBytesHex(m.fileSha256) };
  const filename = kind === 'document' ? str(m.fileName) : undefined;
  if (filename) out.filename = cut(filename, 255);
  const seconds = int(m.seconds);
  if (seconds !== undefined && (kind === 'audio' || kind === 'video')) out.seconds = seconds;
  if (kind === 'audio' && typeof m.ptt === 'boolean') out.ptt = m.ptt;
  const width = int(m.width);
  const height = int(m.height);
  if (width !== undefined && kind !== 'audio' && kind !== 'document') out.width = width;
  if (height !== undefined && kind !== 'audio' && kind !== 'document') out.height = height;
  if (kind === 'sticker' && typeof m.isAnimated === 'boolean') out.animated = m.isAnimated;
  const thumbnail = kind === 'image' || kind === 'video' || kind === 'sticker' ? protoBytesBase64(m.jpegThumbnail, MAX_THUMBNAIL_BYTES) : undefined;
  if (thumbnail) out.thumbnail = thumbnail;
  return out;
};

/**
 * The structured content of one message kind, from its body (the value under `key` in the proto Message), or
 * undefined for a text or a kind without a shape of its own (the caller stores the bounded fallback).
 */
export const structuredContentOf = (key: string, body: unknown): LocationContent | ContactsContent | PollContent | MediaContent | undefined => {
  if (!isRecord(body)) return undefined;
  switch (KIND_OF_KEY[key]) {
    case 'location': {
      const latitude = protoNumber(body.degreesLatitude) ?? 0;
      const longitude = protoNumber(body.degreesLongitude) ?? 0;
      const out: LocationContent = { latitude, longitude };
      const name = str(body.name);
      const address = str(body.address);
      if (name) out.name = name;
      if (address) out.address = address;
      if (key === 'liveLocationMessage') out.live = true;
      return out;
    }
    case 'contacts': {
      if (key === 'contactMessage') {
        const one = card(body);
        return { contacts: one ? [one] : [] };
      }
      const list = Array.isArray(body.contacts) ? body.contacts.filter(isRecord).slice(0, INBOUND_BOUNDS.contacts) : [];
      const cards: ContactCard[] = [];
      let total = 0;
      for (const c of list) {
        const one = card(c);
        if (!one) continue;
        total += one.vcard.length;
        if (total > INBOUND_BOUNDS.vcards) break;
        cards.push(one);
      }
      return { contacts: cards };
    }
    case 'poll': {
      const options = Array.isArray(body.options)
        ? body.options
            .filter(isRecord)
            .map((o) => (typeof o.optionName === 'string' && o.optionName ? cut(o.optionName, INBOUND_BOUNDS.option) : undefined))
            .filter((o): o is string => o !== undefined)
            .slice(0, INBOUND_BOUNDS.options)
        : [];
      return { name: str(body.name) ?? '', options, selectable_count: int(body.selectableOptionsCount) ?? 0 };
    }
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker':
      return media(body, KIND_OF_KEY[key]!);
    default:
      return undefined;
  }
};

/** What a message quotes and mentions: its contextInfo's stanzaId (the quoted message's id) and mentionedJid. */
export const messageContextOf = (body: unknown): { reply_to: string | null; mentions: string[] | null } => {
  const info = isRecord(body) && isRecord(body.contextInfo) ? body.contextInfo : undefined;
  const stanza = info && typeof info.stanzaId === 'string' && info.stanzaId.length <= 128 && info.stanzaId ? info.stanzaId : null;
  const mentioned = info && Array.isArray(info.mentionedJid) ? info.mentionedJid : [];
  const mentions = [
    ...new Set(mentioned.filter((j): j is string => typeof j === 'string' && j.length > 0 && j.length <= 128)),
  ].slice(0, INBOUND_BOUNDS.mentions);
  return { reply_to: stanza, mentions: mentions.length ? mentions : null };
};

/**
 * A message's type, content and context from its Baileys content as JSON (`{ locationMessage: {…} }`): how the
 * control plane stores what an older runner sent (it sent the raw content), so the stored shape is the same.
 */
export const storedFromProtoJson = (
  raw: unknown,
): { type: string; content: unknown; reply_to: string | null; mentions: string[] | null } | undefined => {
  if (!isRecord(raw)) return undefined;
  const key = Object.keys(raw).find((k) => k in KIND_OF_KEY && k !== 'conversation');
  if (!key) return undefined;
  const structured = structuredContentOf(key, raw[key]);
  return { type: inboundTypeOf(key), content: structured ?? raw, ...messageContextOf(raw[key]) };
};
