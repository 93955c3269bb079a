// Who is asking, for the realtime channel's entry points that sit outside the API's middleware chain
// (a Socket.IO session authenticates in its CONNECT packet, long after its first request): the API's own
// `requireTenant` run over the given headers, so keys, revocation, expiry, scopes and session cookies mean
// exactly what they mean on every route; and the single-use tickets browsers use (issued only to callers
// with the `read` scope, so a ticket carries it).
import { Hono } from 'hono';
import { TICKET_PATTERN } from '../../protocol/realtime';
import { requireTenant } from '../auth/middleware';
import { httpDb } from '../data/db';
import type { Env } from '../env';
import { hubOf } from '../hub/client';
import type { AppEnv, Principal } from '../http/context';
import { ApiError, renderError } from '../http/errors';

/**
 * What opened a stream, so that the stream ends with it: `key:<API key id>` or `session:<session hash>`,
 * and when it stops working (ms; null: not by itself). A ticket passes on the credential that asked for it.
 */
export interface StreamCredential {
  credential: string;
  expiresAt: number | null;
}

export type Verdict = ({ ok: true; tenantId: string } & StreamCredential) | { ok: false; message: string };

/** The stream credential of a principal (an API key, or a dashboard session). */
export function streamCredentialOf(p: Principal): StreamCredential {
  return {
    credential: p.via === 'api_key' ? `key:${p.apiKeyId}` : `session:${p.sessionHash}`,
    expiresAt: p.expiresAt ? new Date(p.expiresAt).getTime() : null,
  };
}

const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'cookie', 'origin'] as const;

/** True when the headers carry something `requireTenant` would look at. */
export const carriesCredential = (headers: Headers) =>
  headers.has('authorization') || headers.has('x-api-key') || /(?:^|;\s*)(?:__Host-)?sb_session=/.test(headers.get('cookie') ?? '');

const probe = new Hono<AppEnv>()
  .use(async (c, next) => {
    c.set('db', httpDb(c.env));
    await next();
  })
  .use(requireTenant)
  .get('*', (c) => {
    const p = c.get('principal');
    // A browser sends its cookie on a cross-site WebSocket too: a cookie only counts from our own pages.
    if (p.via === 'session') {
      const origin = c.req.header('origin');
      if (!origin || origin !== new URL(c.req.url).origin) throw new ApiError(403, 'csrf_rejected', 'A session cookie is accepted from this origin only.');
    }
    return c.json(p);
  })
  .onError(renderError);

/**
 * The stream a Socket.IO session is: asked as GET /api/realtime would be, so its credential needs the scope
 * that route needs (`read`, auth/scopes.ts).
 */
const PROBED_AS = '/api/realtime';

/** The tenant behind the credential headers (API key or dashboard cookie) of a request to `url`. */
export async function tenantFromHeaders(env: Env, headers: Headers, url: string): Promise<Verdict> {
  const forwarded = new Headers();
  for (const name of CREDENTIAL_HEADERS) {
    const v = headers.get(name);
    if (v !== null) forwarded.set(name, v);
  }
  const res = await probe.fetch(new Request(new URL(PROBED_AS, url), { headers: forwarded }), env);
  const body = (await res.json()) as Principal | { error: { message: string } };
  if (res.ok && 'tenantId' in body) return { ok: true, tenantId: body.tenantId, ...streamCredentialOf(body) };
  return { ok: false, message: 'error' in body ? body.error.message : 'Not authenticated.' };
}

export const tenantFromApiKey = (env: Env, apiKey: string, url: string) =>
  tenantFromHeaders(env, new Headers({ authorization: `Bearer ${apiKey}` }), url);

/** The tenant of a ticket from POST /api/realtime/ticket, spending it; undefined when it is not (or no longer) valid. */
export async function tenantFromTicket(env: Pick<Env, 'HUB'>, ticket: string): Promise<({ tenantId: string } & StreamCredential) | undefined> {
  const m = TICKET_PATTERN.exec(ticket);
  if (!m) return undefined;
  const redeemed = await hubOf(env, m[1]!).redeemTicket(ticket);
  return redeemed ? { tenantId: m[1]!, ...redeemed } : undefined;
}
