// The Hono environment shared by every route: bindings plus what middleware puts on the context.
import type { Env } from '../env';
import type { Db } from '../data/db';

export interface Principal {
  tenantId: string;
  via: 'api_key' | 'session';
  apiKeyId?: string;
  userId?: string;
  /** Set when authenticated by session cookie: the session token's hash (for logout). */
  sessionHash?: string;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    db: Db;
    principal: Principal;
    /**
     * Set instead of `principal` on routes that check the API key in their own statement: the key's hash,
     * not yet known to be valid. Such a route must answer 401 itself when the key matches no tenant.
     */
    pendingApiKeyHash?: string;
    /** Runs database work after the response (kept alive with waitUntil). */
    afterResponse: (work: () => Promise<unknown>) => void;
  };
}
