// REST shape of the people a connection knows (GET /api/contacts/:connection_id).
import { z } from 'zod';

export const Contact = z
  .object({
    jid: z.string().meta({ description: "The JID this person's chat lives under: their phone number's when known, else their LID.", example: '923001234567@s.whatsapp.net' }),
    phone_number: z.string().nullable().meta({ description: 'Digits of the phone number, when known.', example: '923001234567' }),
    lid: z.string().nullable().meta({ description: 'Their LID (…@lid), when known.', example: '81536485331034@lid' }),
    name: z.string().nullable().meta({ description: 'The name the account saved for them (its address book).', example: 'Ali (work)' }),
    push_name: z.string().nullable().meta({ description: 'The name they set themselves.', example: 'Ali' }),
    verified_name: z.string().nullable().meta({ description: "A business's verified name." }),
    updated_at: z.string().meta({ example: '2026-11-25T10:00:00.000Z' }),
  })
  .meta({ id: 'Contact' });
export type Contact = z.infer<typeof Contact>;
