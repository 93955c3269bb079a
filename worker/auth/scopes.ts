// Which API key scope each /api operation needs: the one table of it. `requireTenant` enforces it on every
// request, the send statement takes it for the sends that check their key themselves, and the OpenAPI
// document is annotated from it (`x-required-scope`), where a test checks that no operation lacks one.
// A route missing here is refused to every key that lacks any scope, so forgetting it fails closed.
import { apiKeyScopes, type ApiKeyScope } from '../../protocol/auth';
import { ApiError } from '../http/errors';
import { authenticatedOperations } from '../http/openapi-operations';

/** Why a key may not make a request: unknown or revoked, expired, or without the scope. */
export type KeyRefusal = 'invalid_api_key' | 'api_key_expired' | 'insufficient_scope';

/** `any`: every valid credential, whatever its scopes (asking who you are, logging out). */
export type RouteScope = ApiKeyScope | 'any';

/** Keyed `METHOD /path` with OpenAPI-style `{param}` segments, exactly as the OpenAPI document names them. */
const ROUTE_SCOPES: Record<string, RouteScope> = {
  // Connections: reading them is `read`; everything that creates, changes, links or unlinks is `manage`.
  'GET /api/connections': 'read',
  'GET /api/connections/{connection_id}': 'read',
  'POST /api/connections': 'manage',
  'DELETE /api/connections/{connection_id}': 'manage',
  // A GET, but it starts the session and hands out what links a phone to the account.
  'GET /api/get-qr/{connection_id}': 'manage',
  'POST /api/connections/{connection_id}/pairing-code': 'manage',
  'POST /api/connections/{connection_id}/logout': 'manage',
  'POST /api/connections/{connection_id}/restart': 'manage',
  'PATCH /api/connections/{connection_id}/webhook': 'manage',
  'PUT /api/connections/{connection_id}/calls': 'manage',
  'GET /api/connections/{connection_id}/calls': 'read',
  'POST /api/connections/{connection_id}/webhook/rotate-secret': 'manage',
  'POST /api/connections/{connection_id}/webhook/test': 'manage',
  'POST /api/connections/{connection_id}/webhook/replay': 'manage',
  'POST /api/webhook-logs/{id}/replay': 'manage',
  'GET /api/webhook-logs/{connection_id}': 'read',

  // Messages.
  'POST /api/send-message': 'send',
  'GET /api/chats/{connection_id}': 'read',
  'GET /api/messages/{connection_id}/{chat_id}': 'read',
  // Editing and deleting a message act as the account, like a send (a delete for me changes only what the tenant sees).
  'PATCH /api/messages/{connection_id}/{chat_id}/{message_id}': 'send',
  'DELETE /api/messages/{connection_id}/{chat_id}/{message_id}': 'send',
  'GET /api/media/{connection_id}/{message_id}': 'read',
  'GET /api/stats': 'read',
  // Chat actions act as the account towards contacts (receipts, typing, online): `send`. So does check-numbers:
  // it queries WhatsApp in the account's name (and too many lookups get the number banned), which a read-only
  // key (a dashboard, an export) has no business doing.
  'POST /api/chats/{connection_id}/{chat_id}/read': 'send',
  'POST /api/chats/{connection_id}/{chat_id}/presence': 'send',
  'POST /api/connections/{connection_id}/presence': 'send',
  'POST /api/connections/{connection_id}/check-numbers': 'send',

  // Groups: reading the account's groups is `read`; creating, changing and leaving them is `manage`, and so is
  // reading the invite link (like get-qr, a GET that hands out what lets someone in).
  'GET /api/groups/{connection_id}': 'read',
  'GET /api/groups/{connection_id}/{group_id}': 'read',
  'POST /api/groups/{connection_id}': 'manage',
  'PATCH /api/groups/{connection_id}/{group_id}': 'manage',
  'POST /api/groups/{connection_id}/{group_id}/participants': 'manage',
  'GET /api/groups/{connection_id}/{group_id}/invite-link': 'manage',
  'POST /api/groups/{connection_id}/{group_id}/invite-link/revoke': 'manage',
  'POST /api/groups/{connection_id}/{group_id}/leave': 'manage',

  // Contacts: who the account knows, and their pictures, are reads.
  'GET /api/contacts/{connection_id}': 'read',
  'GET /api/contacts/{connection_id}/{jid}/picture': 'read',

  // Realtime: the stream and the tickets that open it carry the same events the GET routes show.
  'GET /api/realtime': 'read',
  'POST /api/realtime/ticket': 'read',

  // API keys: even the list is `manage` (names, prefixes and last use of every credential of the tenant).
  'GET /api/keys': 'manage',
  'POST /api/keys': 'manage',
  'DELETE /api/keys/{id}': 'manage',

  // Who is calling, with which scopes: every credential may ask.
  'GET /api/auth/me': 'any',
  'GET /api/auth/session': 'any',
  'POST /api/auth/logout': 'any',

  // Sandbox: looking is `read`; making phones and contacts act (link, write, receipts) is `manage`.
  'GET /api/sandbox': 'read',
  'GET /api/sandbox/contacts/{phone}/inbox': 'read',
  'POST /api/sandbox/phones': 'manage',
  'POST /api/sandbox/phones/{phone}/scan': 'manage',
  'POST /api/sandbox/phones/{phone}/pairing-code': 'manage',
  'POST /api/sandbox/contacts': 'manage',
  'POST /api/sandbox/contacts/{phone}/messages': 'manage',
  'POST /api/sandbox/contacts/{phone}/receipts': 'manage',
};

const compiled = Object.entries(ROUTE_SCOPES).map(([key, scope]) => {
  const [method, path] = key.split(' ') as [string, string];
  const pattern = new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
  return { method, pattern, scope };
});

/** The scope `METHOD path` needs; undefined for a path no entry names (then only a key with every scope passes). */
export function requiredScope(method: string, path: string): RouteScope | undefined {
  const m = method === 'HEAD' ? 'GET' : method;
  return compiled.find((r) => r.method === m && r.pattern.test(path))?.scope;
}

/** The same, for an operation of the OpenAPI document (its path template as written there). */
export const declaredScope = (method: string, pathTemplate: string): RouteScope | undefined =>
  ROUTE_SCOPES[`${method.toUpperCase()} ${pathTemplate}`];

/** The scopes a key must hold for a route that needs `needed` (an undeclared route: all of them). */
export function scopesNeeded(needed: RouteScope | undefined): readonly ApiKeyScope[] {
  if (needed === 'any') return [];
  return needed === undefined ? apiKeyScopes : [needed];
}

/** Whether a credential holding `held` may call a route that needs `needed`. */
export const allows = (held: readonly ApiKeyScope[], needed: RouteScope | undefined) =>
  scopesNeeded(needed).every((s) => held.includes(s));

export function insufficientScope(needed: RouteScope | undefined, held: readonly ApiKeyScope[]): ApiError {
  const has = held.length ? `it has ${held.map((s) => `\`${s}\``).join(', ')}` : 'it has none';
  const message =
    needed === undefined || needed === 'any'
      ? `This route declares no scope, so it needs an API key with every scope; ${has}.`
      : `This request needs the \`${needed}\` scope; the API key lacks it (${has}).`;
  return new ApiError(403, 'insufficient_scope', message, { required: needed ?? apiKeyScopes, scopes: held });
}

type Operation = { security?: Record<string, string[]>[]; responses?: Record<string, unknown>; [extension: `x-${string}`]: unknown };
/**
 * The OpenAPI document with each /api operation's scope from the table: `x-required-scope`, the security
 * requirement naming it (OpenAPI 3.1 lets non-OAuth schemes list roles), and its 403. Public operations
 * (`security: []`) are left alone; one the table misses gets no `x-required-scope` (a test looks for that).
 */
export function withDeclaredScopes<D extends { paths?: object }>(doc: D): D {
  for (const { path, method, op } of authenticatedOperations<Operation>(doc)) {
    const scope = declaredScope(method, path);
    if (scope === undefined) continue;
    op['x-required-scope'] = scope;
    const roles = scope === 'any' ? [] : [scope];
    op.security = [{ bearerAuth: roles }, { apiKeyHeader: roles }, { sessionCookie: [] }];
    if (scope !== 'any' && op.responses && !op.responses['403']) {
      op.responses['403'] = {
        description: `The API key lacks the \`${scope}\` scope (\`insufficient_scope\`).`,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    }
  }
  return doc;
}
