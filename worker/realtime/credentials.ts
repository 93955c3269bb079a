// Who is asking, for the realtime channel's entry points that sit outside the API's middleware chain
// (a Socket.IO session authenticates in its CONNECT packet, long after its first request): the API's own
// `requireTenant` run over the given headers, so keys, revocation and session cookies mean exactly what
// they mean on every route; and the single-use tickets browsers use.
import { Hono } from 'hono';
import { TICKET_PATTERN } from '../../protocol/realtime';
import { requireTenant } from '../auth/middleware';
import { httpDb } from '../data/db';
import type { Env } from '../env';
import { hubOf } from '../hub/client';
import type { AppEnv, Principal } from '../http/context';
import { ApiError, renderError } from '../http/errors';

export type Verdict = { ok: true; tenantId: string } | { ok: false; message: string };

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

/** The tenant behind the credential headers (API key or dashboard cookie) of a request to `url`. */
export async function tenantFromHeaders(env: Env, headers: Headers, url: string): Promise<Verdict> {
  const forwarded = new Headers();
  for (const name of CREDENTIAL_HEADERS) {
    const v = headers.get(name);
    if (v !== null) forwarded.set(name, v);
  }
  const res = await probe.fetch(new Request(new URL('/', url), { headers: forwarded }), env);
  const body = (await res.json()) as Principal | { error: { message: string } };
  if (res.ok && 'tenantId' in body) return { ok: true, tenantId: body.tenantId };
  return { ok: false, message: 'error' in body ? body.error.message : 'Not authenticated.' };
}

export const tenantFromApiKey = (env: Env, apiKey: string, url: string) =>
  tenantFromHeaders(env, new Headers({ authorization: `Bearer ${apiKey}` }), url);

/** The tenant of a ticket from POST /api/realtime/ticket, spending it; undefined when it is not (or no longer) valid. */
export async function tenantFromTicket(env: Pick<Env, 'HUB'>, ticket: string): Promise<string | undefined> {
  const m = TICKET_PATTERN.exec(ticket);
  if (!m) return undefined;
  return (await hubOf(env, m[1]!).redeemTicket(ticket)) ? m[1] : undefined;
}
