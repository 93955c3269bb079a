// Shapes of dashboard login and API key management.
import { z } from 'zod';

/**
 * What an API key may do (docs/api.md#scopes). Independent of each other: `manage` does not imply `read` or
 * `send`, so a key's list is exactly its powers. A dashboard session has all three.
 */
export const apiKeyScopes = ['read', 'send', 'manage'] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];
export const ApiKeyScope = z.enum(apiKeyScopes).meta({
  id: 'ApiKeyScope',
  description:
    '`read`: the GET routes (connections, chats, messages, webhook logs, stats, realtime); `send`: sending messages; ' +
    '`manage`: creating, changing and deleting connections (webhooks, QR, pairing, restart, logout), replays, and API keys.',
});

/** Scopes in their one canonical order, each once: how they are stored and shown. */
export const canonicalScopes = (scopes: Iterable<ApiKeyScope>): ApiKeyScope[] => {
  const set = new Set(scopes);
  return apiKeyScopes.filter((s) => set.has(s));
};

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
    scopes: z.array(ApiKeyScope).meta({ description: "What this credential may do: an API key's scopes; a dashboard session has all." }),
  })
  .meta({ id: 'Me' });

export const SessionProbe = z
  .object({ session: Me.nullable().meta({ description: 'Null when the request carries no valid credential.' }) })
  .meta({ id: 'SessionProbe' });

export const CreateApiKeyBody = z
  .object({
    name: z.string().trim().min(1).max(100).meta({ example: 'production backend' }),
    scopes: z
      .array(ApiKeyScope)
      .min(1)
      .refine((list) => new Set(list).size === list.length, 'each scope at most once')
      .optional()
      .meta({
        description: "What the key may do. Default: the caller's own scopes. Never more than the caller's own (403 `insufficient_scope`).",
        example: ['read', 'send'],
      }),
    expires_at: z.iso
      .datetime({ offset: true })
      .refine((at) => Date.parse(at) > Date.now(), 'must be in the future')
      .optional()
      .meta({
        description:
          'When the key stops working (401 `api_key_expired` after). Default: never, or, when the calling key expires, the same time; ' +
          'a key never outlives the key that created it.',
        example: '2027-06-30T00:00:00Z',
      }),
  })
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
    scopes: z.array(ApiKeyScope).meta({ example: ['read', 'send', 'manage'] }),
    expires_at: z.string().nullable().meta({ description: 'When the key stops working; null: never.' }),
  })
  .meta({ id: 'ApiKey' });
export type ApiKey = z.infer<typeof ApiKey>;

export const CreatedApiKey = ApiKey.extend({
  key: z.string().meta({ description: 'The key itself. Shown only once.', example: 'sk_live_…' }),
}).meta({ id: 'CreatedApiKey' });
