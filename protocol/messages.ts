// REST shapes of messaging: sending, chats and message history.
import { z } from 'zod';
import { ConnectionId } from './connections';

/** A phone number with country code (digits, optional leading +) or a full WhatsApp JID. */
export const Recipient = z
  .string()
  .min(1)
  .max(128)
  .meta({
    description: 'Phone number with country code (digits only, optional leading +) or a full JID (user@s.whatsapp.net, group@g.us).',
    example: '923001234567',
  });

export const ClientMessageId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
  .meta({ description: 'Your id for the message; a retried request with the same id never sends twice.', example: 'unique-client-id-001' });

export const SendMessageBody = z
  .object({
    connection_id: ConnectionId,
    to: Recipient,
    message: z.string().min(1).max(65_536).meta({ example: 'Hello from WhatsApp API!' }),
    client_message_id: ClientMessageId.optional(),
  })
  .strict()
  .meta({ id: 'SendMessageBody' });
export type SendMessageBody = z.infer<typeof SendMessageBody>;

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
