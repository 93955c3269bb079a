// The Hono environment shared by every route: bindings plus what middleware puts on the context.
import type { ApiKeyScope } from '../../protocol/auth';
import type { Env } from '../env';
import type { Db } from '../data/db';
import type { RouteScope } from '../auth/scopes';

export interface Principal {
  tenantId: string;
  via: 'api_key' | 'session';
  apiKeyId?: string;
  userId?: string;
  /** Set when authenticated by session cookie: the session token's hash (for logout). */
  sessionHash?: string;
  /** What the credential may do: an API key's scopes, every scope for a dashboard session. */
  scopes: readonly ApiKeyScope[];
  /** When an API key stops working (null: never; always null for a session). */
  expiresAt: Date | null;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    db: Db;
    principal: Principal;
    /**
     * Set instead of `principal` on routes that check the API key in their own statement: the key's hash,
     * not yet known to be valid, and the scope the route needs (auth/scopes.ts). Such a route must refuse
     * the key itself (as `keyRefused` says) when the statement did, and clear this once it judged the key.
     */
    pendingApiKey?: { hash: string; scope: RouteScope | undefined };
    /** Runs database work after the response (kept alive with waitUntil). */
    afterResponse: (work: () => Promise<unknown>) => void;
  };
}
