// REST shapes of /api/sandbox: the WhatsApp Web emulator's phones and contacts, acted out through the API
// when the stack runs with the emulator (SANDBOX_CONTROL_URL). The emulator's own control API is in
// runner/emulator/README.md; these are the parts of it a tenant (the dashboard) needs, in our names.
import { z } from 'zod';
import { MAX_CONTACTS, SendContact, SendLocation, SendPoll, SendReaction } from './messages';

export const SandboxPhoneNumber = z
  .string()
  .regex(/^\d{6,15}$/, '6–15 digits, country code first, no "+"')
  .meta({ description: 'A phone number in the emulator: digits, country code first.', example: '15550001111' });

const Jid = z.string().meta({ example: '15550001111@s.whatsapp.net' });

export const SandboxPhone = z
  .object({
    phone: SandboxPhoneNumber,
    name: z.string(),
    jid: Jid,
    devices: z.object({
      count: z.number().int().meta({ description: 'Companion devices linked to this phone (connections that scanned its QR or entered its code).' }),
      online: z.number().int().meta({ description: 'Of those, how many are connected to the emulator now.' }),
    }),
  })
  .meta({ id: 'SandboxPhone', description: 'An emulated phone: a WhatsApp account a connection can link to.' });
export type SandboxPhone = z.infer<typeof SandboxPhone>;

export const SandboxContact = z
  .object({ phone: SandboxPhoneNumber, name: z.string(), jid: Jid })
  .meta({ id: 'SandboxContact', description: 'An emulated contact: someone who messages the phones and receives their messages.' });
export type SandboxContact = z.infer<typeof SandboxContact>;

export const SandboxStatus = z
  .discriminatedUnion('enabled', [
    z.object({ enabled: z.literal(false) }),
    z.object({ enabled: z.literal(true), phones: z.array(SandboxPhone), contacts: z.array(SandboxContact) }),
  ])
  .meta({
    id: 'SandboxStatus',
    description: '`enabled: false` when this deployment runs against WhatsApp itself; otherwise the emulator\'s phones and contacts.',
  });
export type SandboxStatus = z.infer<typeof SandboxStatus>;

export const CreateSandboxPersonBody = z
  .object({
    phone: SandboxPhoneNumber.optional().meta({ description: 'Default: a fresh number (1555… for phones, 1556… for contacts).' }),
    name: z.string().min(1).max(100).optional().meta({ example: 'Alice' }),
  })
  .strict()
  .meta({ id: 'CreateSandboxPersonBody' });

export const SandboxScanBody = z
  .object({
    qr: z
      .string()
      .min(1)
      .max(4096)
      .meta({ description: 'The string the QR encodes: `qr_raw` of GET /api/get-qr/{connection_id}, or `qrRaw` of a `qr-update` event.' }),
  })
  .strict()
  .meta({ id: 'SandboxScanBody' });

export const SandboxPairingCodeBody = z
  .object({ code: z.string().min(1).max(32).meta({ description: 'The code POST /api/connections/{connection_id}/pairing-code answered.', example: 'ABCD-1234' }) })
  .strict()
  .meta({ id: 'SandboxPairingCodeBody' });

export const SandboxLinkedDevice = z
  .object({
    phone: SandboxPhoneNumber,
    device: z.number().int().meta({ description: "The new companion device's number on the phone." }),
    jid: z.string().meta({ example: '15550001111:1@s.whatsapp.net' }),
  })
  .meta({ id: 'SandboxLinkedDevice', description: 'The phone linked the connection as this device; the connection becomes `connected` shortly after.' });

/** What a sandbox contact can send besides a text: one of these per request (or `text`). */
export const sandboxMessageKinds = ['text', 'location', 'contacts', 'poll', 'reaction'] as const;

export const SandboxMessageBody = z
  .object({
    to: z
      .string()
      .regex(/^\d{6,15}(@s\.whatsapp\.net)?$/, "a phone's number or its JID")
      .meta({ description: 'The phone (emulated account) to send to: its number or JID.', example: '15550001111' }),
    text: z.string().min(1).max(65_536).optional(),
    reply_to: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .meta({ description: 'With `text`: the id of the message quoted (one the phone sent the contact, or the contact\'s own): a reply.' }),
    location: SendLocation.optional(),
    contacts: z.array(SendContact).min(1).max(MAX_CONTACTS).optional().meta({ description: `Contact cards (1 to ${MAX_CONTACTS}), as the contact shares them.` }),
    poll: SendPoll.optional(),
    reaction: SendReaction.optional().meta({ description: 'A reaction to a message of the chat (`message_id`: its id; an empty emoji removes it).' }),
  })
  .strict()
  .superRefine((b, ctx) => {
    const kinds = sandboxMessageKinds.filter((k) => b[k] !== undefined);
    if (kinds.length !== 1) ctx.addIssue({ code: 'custom', message: `give exactly one of ${sandboxMessageKinds.join(', ')}`, path: kinds.length ? [kinds[1]!] : [] });
    if (b.reply_to !== undefined && b.text === undefined) ctx.addIssue({ code: 'custom', message: 'reply_to goes with text', path: ['reply_to'] });
  })
  .meta({ id: 'SandboxMessageBody', description: 'One kind per message: `text` (optionally quoting `reply_to`), `location`, `contacts`, `poll` or `reaction`.' });
export type SandboxMessageBody = z.infer<typeof SandboxMessageBody>;

export const SandboxSent = z
  .object({ ids: z.array(z.string()).meta({ description: 'The WhatsApp message id of what was sent (the `provider_message_id` it is stored under).' }) })
  .meta({ id: 'SandboxSent' });

export const SandboxInboxEntry = z
  .object({
    id: z.string().meta({ description: 'WhatsApp message id (the `provider_message_id` of the sent message).' }),
    from: z.string().meta({ description: 'The sending device.', example: '15550001111:1@s.whatsapp.net' }),
    chat: z.string().meta({ description: "The chat from the contact's side: the phone's JID, or a group's." }),
    group: z.string().optional(),
    t: z.number().int().meta({ description: 'WhatsApp timestamp, in seconds.' }),
    text: z.string().nullable().meta({ description: 'The text; null for media (a caption is in `media.caption`).' }),
    media: z
      .object({
        type: z.string(),
        mimetype: z.string().nullable(),
        caption: z.string().nullable(),
        fileName: z.string().nullable(),
        ptt: z.boolean().optional(),
        size: z.number().nullable(),
        sha256: z.boolean().meta({ description: 'True when the file was found, decrypted and matched its hashes.' }),
        error: z.string().optional(),
      })
      .optional()
      .meta({ description: 'For image, video, audio and document messages: what the contact received.' }),
  })
  .meta({ id: 'SandboxInboxEntry' });
export type SandboxInboxEntry = z.infer<typeof SandboxInboxEntry>;

export const SandboxReceiptsBody = z
  .object({
    ids: z.array(z.string().min(1).max(128)).min(1).max(1000).meta({ description: 'Ids of messages in the contact\'s inbox.' }),
    type: z.enum(['delivery', 'read']),
  })
  .strict()
  .meta({ id: 'SandboxReceiptsBody' });

export const SandboxOk = z.object({ ok: z.literal(true) }).meta({ id: 'SandboxOk' });
