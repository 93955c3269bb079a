// REST shapes of messaging: sending, chats and message history.
import { z } from 'zod';
import { ConnectionId } from './connections';
import { mediaTypes } from './media';
import { MessageContent } from './inbound-content';

/** A phone number with country code or a full WhatsApp JID (parsed by protocol/recipient.ts). */
export const Recipient = z
  .string()
  .min(1)
  .max(128)
  .meta({
    description:
      'Phone number with country code (digits, an optional leading +; spaces, dashes, dots and parentheses are ignored) or a full JID (user@s.whatsapp.net, group@g.us, …@lid).',
    example: '923001234567',
  });

export const ClientMessageId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
  .meta({ description: 'Your id for the message; a retried request with the same id never sends twice.', example: 'unique-client-id-001' });

/** Longest `message` (text or caption). */
const MAX_TEXT = 65_536;

export const SendMessageMedia = z
  .object({
    type: z.enum(mediaTypes).meta({
      description: 'How WhatsApp shows the file: a photo, a document (with its file name), an audio (or voice note), a video.',
      example: 'image',
    }),
    url: z.string().max(2048).optional().meta({
      description:
        'Where Switchboard fetches the file (http or https; public addresses only). Fetched once, at send time, ' +
        'within the size limit and a timeout. Give exactly one of `url` and `base64`.',
      example: 'https://example.com/files/brochure.pdf',
    }),
    base64: z.string().min(1).optional().meta({
      description:
        'The file itself, base64 (standard or URL-safe alphabet, padding and line breaks allowed). Give exactly one of `url` and `base64`.',
      example: 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==',
    }),
    mimetype: z
      .string()
      .max(255)
      .regex(/^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(\s*;\s*[\w!#$&^.+-]+=("[^"\r\n]*"|[\w!#$&^.+-]+))*$/, 'a MIME type such as image/png')
      .optional()
      .meta({
        description:
          "The file's MIME type. Default: implied by `filename`, else by the file's first bytes (PNG, JPEG, GIF, WebP, PDF), " +
          "else (for a URL) by the server's Content-Type or the URL's extension, " +
          'else image/jpeg, video/mp4, audio/mpeg (a voice note: audio/ogg; codecs=opus) or application/octet-stream.',
        example: 'application/pdf',
      }),
    filename: z.string().min(1).max(255).optional().meta({
      description: "A document's file name as the recipient sees it (default: the URL's last path segment, else \"file\").",
      example: 'brochure.pdf',
    }),
    ptt: z.boolean().optional().meta({ description: 'Audio only: send as a voice note (push-to-talk).', example: false }),
  })
  .strict()
  .superRefine((m, ctx) => {
    if ((m.url === undefined) === (m.base64 === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of url and base64' });
    }
    if (m.ptt && m.type !== 'audio') ctx.addIssue({ code: 'custom', path: ['ptt'], message: 'only audio can be a voice note' });
  })
  .meta({
    id: 'SendMessageMedia',
    description: 'A file to send; `message` is then its caption (optional; audio takes none).',
    example: { type: 'document', url: 'https://example.com/files/brochure.pdf', filename: 'brochure.pdf' },
  });
export type SendMessageMedia = z.infer<typeof SendMessageMedia>;

/** A `provider_message_id` of a message stored in the same chat for this connection (sent or received). */
const StoredMessageId = z.string().min(1).max(128);

/** Longest vCard field we write (a contact's name); WhatsApp shows far less. */
const MAX_CONTACT_NAME = 256;
/** Most contact cards in one message. */
export const MAX_CONTACTS = 20;
/** Most people mentioned in one text. */
export const MAX_MENTIONS = 50;
/** A poll takes 2 to 12 options (WhatsApp's own bounds). */
export const POLL_OPTIONS = { min: 2, max: 12 } as const;

/** A phone number with country code as in `to` (digits, optional + and separators), for contact cards and mentions. */
export const PhoneNumber = z
  .string()
  .max(32)
  .regex(/^\+?[\d\s\-.()]+$/, 'a phone number with country code')
  .refine((v) => /^[1-9]\d{5,14}$/.test(phoneDigits(v)), 'a phone number with country code (6 to 15 digits, no leading 0)')
  .meta({ example: '923001234567' });
/** The digits of a PhoneNumber (separators and the leading + dropped). */
export const phoneDigits = (v: string) => v.replace(/[\s\-.()]/g, '').replace(/^\+/, '');

export const SendLocation = z
  .object({
    latitude: z.number().min(-90).max(90).meta({ example: 24.8607 }),
    longitude: z.number().min(-180).max(180).meta({ example: 67.0011 }),
    name: z.string().min(1).max(256).optional().meta({ example: 'Head office' }),
    address: z.string().min(1).max(1024).optional().meta({ example: 'Shahrah-e-Faisal, Karachi' }),
  })
  .strict()
  .meta({ id: 'SendLocation', description: 'A pinned location: degrees (WGS 84), with an optional name and address.' });
export type SendLocation = z.infer<typeof SendLocation>;

export const SendContact = z
  .object({
    name: z
      .string()
      .min(1)
      .max(MAX_CONTACT_NAME)
      .regex(/^[^\p{Cc}]+$/u, 'no control characters')
      .meta({ example: 'Alice Example' }),
    phone: PhoneNumber,
  })
  .strict()
  .meta({ id: 'SendContact' });
export type SendContact = z.infer<typeof SendContact>;

export const SendPoll = z
  .object({
    name: z.string().min(1).max(255).meta({ example: 'Lunch?' }),
    options: z
      .array(z.string().min(1).max(100))
      .min(POLL_OPTIONS.min)
      .max(POLL_OPTIONS.max)
      .refine((o) => new Set(o).size === o.length, 'options must be unique')
      .meta({ example: ['Pizza', 'Sushi'] }),
    selectable_count: z
      .number()
      .int()
      .min(0)
      .optional()
      .meta({ description: 'How many options one person may pick: 1 for a single choice, 0 (the default) for any number.', example: 1 }),
  })
  .strict()
  .refine((p) => (p.selectable_count ?? 0) <= p.options.length, { path: ['selectable_count'], message: 'at most the number of options' })
  .meta({ id: 'SendPoll', description: 'A poll with 2 to 12 unique options.' });
export type SendPoll = z.infer<typeof SendPoll>;

export const SendReaction = z
  .object({
    message_id: StoredMessageId.meta({ description: 'The `provider_message_id` of the message reacted to, in the chat `to` names.' }),
    emoji: z.string().max(32).meta({ description: 'The reaction (one emoji); empty removes an earlier reaction.', example: '👍' }),
  })
  .strict()
  .meta({ id: 'SendReaction' });
export type SendReaction = z.infer<typeof SendReaction>;

export const SendSticker = z
  .object({
    url: z.string().max(2048).optional().meta({
      description: 'Where Switchboard fetches the sticker, as for `media.url`. Give exactly one of `url` and `base64`.',
      example: 'https://example.com/stickers/thumbs-up.webp',
    }),
    base64: z.string().min(1).optional().meta({ description: 'The WebP file itself, base64. Give exactly one of `url` and `base64`.', example: 'UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==' }),
  })
  .strict()
  .superRefine((m, ctx) => {
    if ((m.url === undefined) === (m.base64 === undefined)) ctx.addIssue({ code: 'custom', message: 'give exactly one of url and base64' });
  })
  .meta({ id: 'SendSticker', description: 'A sticker: a WebP image (static or animated, 512×512 is what WhatsApp draws), within MAX_MEDIA_BYTES.' });
export type SendSticker = z.infer<typeof SendSticker>;

export const SendForward = z
  .object({
    message_id: StoredMessageId.meta({
      description: 'The `provider_message_id` of a message this connection has, in any chat: a text, or a received message of another kind.',
    }),
  })
  .strict()
  .meta({ id: 'SendForward', description: 'Forward a stored message to `to` (WhatsApp marks it forwarded unless it is our own).' });
export type SendForward = z.infer<typeof SendForward>;

/** The content kinds besides text, each its own field; a send carries at most one of them. */
export const contentKinds = ['media', 'sticker', 'location', 'contacts', 'poll', 'reaction', 'forward'] as const;

export const SendMessageBody = z
  .object({
    connection_id: ConnectionId,
    to: Recipient,
    message: z
      .string()
      .max(MAX_TEXT)
      .optional()
      .meta({
        description: 'The text to send (required, non-empty, unless `media` is given); with `media`, its caption (optional, may be empty).',
        example: 'Hello from WhatsApp API!',
      }),
    client_message_id: ClientMessageId.optional(),
    media: SendMessageMedia.optional(),
    sticker: SendSticker.optional(),
    location: SendLocation.optional(),
    contacts: z.array(SendContact).min(1).max(MAX_CONTACTS).optional().meta({
      description: `Contact cards (1 to ${MAX_CONTACTS}); Switchboard writes the vCards. One card goes as a contact message, several as one contacts message.`,
    }),
    poll: SendPoll.optional(),
    reaction: SendReaction.optional(),
    forward: SendForward.optional(),
    reply_to: StoredMessageId.optional().meta({
      description:
        'Quote this message (its `provider_message_id`, in the chat `to` names): the send goes as a reply to it. With any kind but `reaction`.',
      example: '3EB0C431C26A1916E1B5',
    }),
    mentions: z
      .array(PhoneNumber)
      .min(1)
      .max(MAX_MENTIONS)
      .optional()
      .meta({ description: 'People the text (or caption) mentions, by phone number; the text must hold `@<number>` for each.', example: ['923001234567'] }),
    link_preview: z.boolean().optional().meta({
      description:
        "A text only: show a preview (title, description) of the text's first http(s) link, read by Switchboard from the page (public pages only, 3 s). Default: on.",
      example: true,
    }),
  })
  .strict()
  .superRefine(
    (b, ctx) => {
      const kinds = contentKinds.filter((k) => b[k] !== undefined);
      if (b.link_preview !== undefined && kinds.length) ctx.addIssue({ code: 'custom', path: ['link_preview'], message: 'a link preview goes with a text only' });
      if (kinds.length > 1) {
        ctx.addIssue({ code: 'custom', path: [kinds[1]!], message: `give one content kind per message, not ${kinds.join(' and ')}` });
        return;
      }
      const kind = kinds[0];
      if (kind && kind !== 'media') {
        // These kinds carry no text of their own: a `message` beside them would be silently lost.
        if (b.message !== undefined) ctx.addIssue({ code: 'custom', path: ['message'], message: `${kind} takes no message: leave it out` });
        if (b.mentions) ctx.addIssue({ code: 'custom', path: ['mentions'], message: 'mentions go with a text or a caption' });
        if ((kind === 'reaction' || kind === 'forward') && b.reply_to !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['reply_to'], message: `a ${kind} names its message itself` });
        }
        return;
      }
      if (b.mentions && b.message) {
        b.mentions.forEach((m, i) => {
          if (!b.message!.includes(`@${phoneDigits(m)}`)) ctx.addIssue({ code: 'custom', path: ['mentions', i], message: `the text must mention @${phoneDigits(m)}` });
        });
      } else if (b.mentions && b.message !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['mentions'], message: 'mentions go with a text or a caption' });
      }
      // Without media the seed contract stands: `message` is a required, non-empty string (same issues as before).
      if (!b.media) {
        if (b.message === undefined) ctx.addIssue({ code: 'custom', path: ['message'], message: 'Invalid input: expected string, received undefined' });
        else if (b.message.length === 0) ctx.addIssue({ code: 'custom', path: ['message'], message: 'Too small: expected string to have >=1 characters' });
      } else if (b.media.type === 'audio' && b.message) {
        ctx.addIssue({ code: 'custom', path: ['message'], message: 'audio takes no caption: leave message out (or empty)' });
      }
    },
    // Also when other fields failed, so a body missing several fields lists them all, as it always did.
    {
      when: (payload) =>
        isRecord(payload.value) &&
        !payload.issues.some((i) => ['message', 'mentions', 'reply_to', 'link_preview', ...contentKinds].includes(String(i.path?.[0]))),
    },
  )
  .meta({ id: 'SendMessageBody' });
export type SendMessageBody = z.infer<typeof SendMessageBody>;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const SendMessageResponse = z
  .object({
    status: z.enum(['sent', 'pending']),
    client_message_id: z.string().nullable(),
    provider_message_id: z.string().nullable().meta({ example: '3EB0C431C26A1916E1B5' }),
  })
  .meta({ id: 'SendMessageResponse' });

export const messageStatuses = ['pending', 'sent', 'delivered', 'read', 'played', 'failed', 'unknown', 'received'] as const;

const timestamp = z.string().meta({ example: '2026-11-25T10:00:00.000Z' });

/** Who did something to a message: a JID, or null for this account (any of its devices, or the API). */
const Actor = z.string().nullable().meta({ example: '923001234567@s.whatsapp.net' });

export const MessageEdit = z
  .object({ message: z.string().nullable(), replaced_at: timestamp.meta({ description: 'When the edit that replaced this text was made.' }) })
  .meta({ id: 'MessageEdit' });
export type MessageEdit = z.infer<typeof MessageEdit>;

export const MessageReaction = z.object({ from: Actor, emoji: z.string().meta({ example: '👍' }), at: timestamp }).meta({ id: 'MessageReaction' });
export type MessageReaction = z.infer<typeof MessageReaction>;

export const PollTally = z
  .object({ option: z.string().meta({ example: 'Pizza' }), count: z.number().int(), voters: z.array(Actor) })
  .meta({ id: 'PollTally' });
export type PollTally = z.infer<typeof PollTally>;

/** How one poll vote is kept: a voter's current choice (one entry per voter; an empty list is a retracted vote). */
export interface PollVote {
  voter: string | null;
  options: string[];
  at: string;
}

/** Options in the poll's own order (then any others voted for), each with its count and voters. */
export function tallyPoll(pollOptions: readonly string[], votes: readonly PollVote[]): PollTally[] {
  const order = [...pollOptions];
  for (const v of votes) for (const o of v.options) if (!order.includes(o)) order.push(o);
  return order.map((option) => {
    const voters = votes.filter((v) => v.options.includes(option)).map((v) => v.voter);
    return { option, count: voters.length, voters };
  });
}

/** PATCH /api/messages/:connection_id/:chat_id/:message_id: the new text of our own text message. */
export const EditMessageBody = z
  .object({ message: z.string().min(1).max(MAX_TEXT).meta({ description: 'The new text.', example: 'Hello again (edited)' }) })
  .strict()
  .meta({ id: 'EditMessageBody' });
export type EditMessageBody = z.infer<typeof EditMessageBody>;

/** How long after sending WhatsApp lets its sender edit a message. */
export const EDIT_WINDOW_MS = 15 * 60 * 1000;
/** The file of a received media message, as the gateway stored it (worker/media-in/store.ts). */
export const ReceivedMedia = z
  .object({
    mimetype: z.string().meta({ example: 'image/jpeg' }),
    size: z.number().int().meta({ description: 'Size in bytes (as WhatsApp\'s message states it when the file is not stored).', example: 48213 }),
    filename: z.string().nullable().meta({ description: 'The file name a document was sent with; null for other kinds.' }),
    sha256: z.string().meta({ description: 'Hex SHA-256 of the file, as WhatsApp\'s message states it; a stored file was checked against it.' }),
    url: z.string().nullable().meta({
      description:
        'Where to get the file: `/api/media/{connection_id}/{message_id}` (scope `read`; Range and ETag supported). In webhook bodies a ' +
        'signed link that needs no API key and expires (`expires`, `signature` in its query). Null when only metadata is stored.',
      example: '/api/media/user123/3EB0C431C26A1916E1B5',
    }),
    reason: z.string().nullable().meta({
      description: 'Why the file is not stored (`url` null): `too_large` (over the tenant\'s limit), `download_failed`, `hash_mismatch`, `unavailable`; null when stored.',
      example: null,
    }),
  })
  .nullable()
  .meta({ id: 'ReceivedMedia', description: 'The file of a received image, video, audio, document or sticker; null for other messages and for sent ones.' });

export const Message = z
  .object({
    id: z.string().meta({ description: 'Switchboard id of the stored message.' }),
    connection_id: ConnectionId,
    chat_id: z.string().meta({ example: '923001234567@s.whatsapp.net' }),
    direction: z.enum(['inbound', 'outbound']),
    from: z.string().nullable(),
    to: z.string().nullable(),
    type: z.string().meta({
      description:
        '`text`, `image`, `video`, `audio`, `document`, `sticker`, `location`, `contacts`, `poll` (each with its `content`), ' +
        '`reaction` (sent), or another WhatsApp kind by its name (e.g. `buttonsResponse`).',
      example: 'text',
    }),
    message: z.string().nullable().meta({ description: 'Text of the message (or caption); for a sent location its name, for a poll its question.' }),
    content: MessageContent,
    reply_to: z.string().nullable().meta({
      description: 'The `provider_message_id` of the message this one quotes (a reply), either direction; null when it quotes none.',
      example: '3EB0C431C26A1916E1B5',
    }),
    mentions: z
      .array(z.string())
      .nullable()
      .meta({ description: 'The JIDs the text (or caption) mentions; null when none.', example: ['923001234567@s.whatsapp.net'] }),
    media: ReceivedMedia,
    client_message_id: z.string().nullable(),
    provider_message_id: z.string().nullable(),
    status: z.enum(messageStatuses),
    error: z.string().nullable(),
    timestamp,
    created_at: timestamp,
    updated_at: timestamp,
    edited_at: timestamp.nullable().meta({ description: 'When its sender last edited it; null if never.' }),
    deleted_at: timestamp.nullable().meta({
      description: 'When it was revoked for everyone (or deleted for you with `?for=me`); its text stays readable here. Null if not.',
    }),
    edits: z.array(MessageEdit).meta({ description: 'Its earlier texts, oldest first: each one until the edit that replaced it.' }),
    reactions: z.array(MessageReaction).meta({ description: 'Current reactions, one per person (a later reaction replaces, an empty one removes).' }),
    poll_votes: z.array(PollTally).nullable().meta({ description: "A poll's tally per option (each voter's latest vote counts); null if not a poll." }),
  })
  .meta({ id: 'Message' });
export type Message = z.infer<typeof Message>;

export const Chat = z
  .object({
    chat_id: z.string().meta({ example: '923001234567@s.whatsapp.net' }),
    name: z.string().nullable(),
    last_message_at: timestamp,
    last_message: z.string().nullable(),
    unread_count: z.number().int(),
  })
  .meta({ id: 'Chat' });
export type Chat = z.infer<typeof Chat>;
