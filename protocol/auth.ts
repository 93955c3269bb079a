// Shapes of dashboard login and API key management.
import { z } from 'zod';

export const LoginBody = z
  .object({
    email: z.string().email().max(320),
    password: z.string().min(1).max(1024),
  })
  .strict()
  .meta({ id: 'LoginBody' });

export const Me = z
  .object({
    tenant: z.object({ id: z.string(), name: z.string() }),
    via: z.enum(['api_key', 'session']),
    user: z.object({ id: z.string(), email: z.string(), role: z.string() }).nullable(),
  })
  .meta({ id: 'Me' });

export const SessionProbe = z
  .object({ session: Me.nullable().meta({ description: 'Null when the request carries no valid credential.' }) })
  .meta({ id: 'SessionProbe' });

export const CreateApiKeyBody = z
  .object({ name: z.string().trim().min(1).max(100).meta({ example: 'production backend' }) })
  .strict()
  .meta({ id: 'CreateApiKeyBody' });

export const ApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().meta({ description: 'First characters of the key, to recognise it by.', example: 'sk_live_Ab3d' }),
    created_at: z.string(),
    last_used_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
  })
  .meta({ id: 'ApiKey' });
export type ApiKey = z.infer<typeof ApiKey>;

export const CreatedApiKey = ApiKey.extend({
  key: z.string().meta({ description: 'The key itself. Shown only once.', example: 'sk_live_…' }),
}).meta({ id: 'CreatedApiKey' });
