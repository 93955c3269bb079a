// REST shapes of messaging: sending, chats and message history.
import { z } from 'zod';
import { ConnectionId } from './connections';
import { mediaTypes } from './media';

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
  })
  .strict()
  .superRefine(
    (b, ctx) => {
      // Without media the seed contract stands: `message` is a required, non-empty string (same issues as before).
      if (!b.media) {
        if (b.message === undefined) ctx.addIssue({ code: 'custom', path: ['message'], message: 'Invalid input: expected string, received undefined' });
        else if (b.message.length === 0) ctx.addIssue({ code: 'custom', path: ['message'], message: 'Too small: expected string to have >=1 characters' });
      } else if (b.media.type === 'audio' && b.message) {
        ctx.addIssue({ code: 'custom', path: ['message'], message: 'audio takes no caption: leave message out (or empty)' });
      }
    },
    // Also when other fields failed, so a body missing several fields lists them all, as it always did.
    { when: (payload) => isRecord(payload.value) && !payload.issues.some((i) => i.path?.[0] === 'message' || i.path?.[0] === 'media') },
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

export const Message = z
  .object({
    id: z.string().meta({ description: 'Switchboard id of the stored message.' }),
    connection_id: ConnectionId,
    chat_id: z.string().meta({ example: '923001234567@s.whatsapp.net' }),
    direction: z.enum(['inbound', 'outbound']),
    from: z.string().nullable(),
    to: z.string().nullable(),
    type: z.string().meta({ example: 'text' }),
    message: z.string().nullable().meta({ description: 'Text of the message (or caption).' }),
    content: z.unknown().nullable(),
    client_message_id: z.string().nullable(),
    provider_message_id: z.string().nullable(),
    status: z.enum(messageStatuses),
    error: z.string().nullable(),
    timestamp,
    created_at: timestamp,
    updated_at: timestamp,
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
