// Dashboard login: email + password in, an HttpOnly session cookie out. Also "who am I" for any caller.
import { createRoute, z } from '@hono/zod-openapi';
import { and, eq, sql } from 'drizzle-orm';
import { sessions, tenants, users } from '../../drizzle/schema';
import { LoginBody, Me, SessionProbe, apiKeyScopes } from '../../protocol/auth';
import type { Context } from 'hono';
import type { AppEnv } from '../http/context';
import { DUMMY_PASSWORD_HASH, newSessionToken, sha256Hex, verifyPassword } from '../auth/credentials';
import { assertSameOrigin, requireTenant } from '../auth/middleware';
import { LOCAL_SESSION_COOKIE, SECURE_SESSION_COOKIE, clearSessionCookie, writeSessionCookie } from '../auth/session-cookie';
import { ApiError } from '../http/errors';
import { endStreamsOf } from '../hub/client';
import { limiterOf } from '../limits/limiter-of';
import { parseRule } from '../limits/token-bucket';
import type { Env } from '../env';
import { errorResponses, jsonBody, jsonContent, newRouter } from '../http/router';

const SESSION_TTL_SECONDS = 7 * 24 * 3600;
const tags = ['Session'];

/** Login is the one /api write that needs no credential; it is still refused cross-site. */
export const loginRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/auth/session',
      tags,
      summary: 'Am I logged in',
      description:
        'Like GET /api/auth/me, but a missing, expired or unknown credential is an answer (`session: null`), not a 401: ' +
        'the dashboard asks this on load, before anyone has logged in.',
      security: [],
      responses: { 200: jsonContent(SessionProbe, 'The caller, or null.') },
    }),
    async (c) => {
      try {
        await requireTenant(c, async () => {});
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return c.json({ session: null }, 200);
        throw e;
      }
      return c.json({ session: await describeCaller(c) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/login',
      tags,
      summary: 'Log in to the dashboard',
      description: `Sets an HttpOnly, SameSite=Strict, Secure session cookie (${SECURE_SESSION_COOKIE}; \`${LOCAL_SESSION_COOKIE}\`, not Secure, on localhost) valid for 7 days.`,
      security: [],
      request: jsonBody(LoginBody),
      responses: { 200: jsonContent(Me, 'Logged in.'), ...errorResponses(400, 401, 403, 413, 429) },
    }),
    async (c) => {
      if (c.req.header('origin')) assertSameOrigin(c.req.raw);
      const { email, password } = c.req.valid('json');
      // Before any password is hashed: each guess costs a PBKDF2 run, so guessing is bounded per client and per account.
      await limitLogin(c.env, c.req.header('cf-connecting-ip') ?? 'unknown', email);
      const db = c.get('db');
      const [user] = await db
        .select({ id: users.id, email: users.email, role: users.role, passwordHash: users.passwordHash, tenantId: users.tenantId, tenantName: tenants.name })
        .from(users)
        .innerJoin(tenants, eq(tenants.id, users.tenantId))
        .where(eq(users.email, email.toLowerCase()))
        .limit(1);
      // Verify against a dummy hash when there is no such user, so timing does not reveal which emails exist.
      const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
      if (!user || !ok) throw new ApiError(401, 'invalid_credentials', 'Email or password is wrong.');

      const token = newSessionToken();
      await db.insert(sessions).values({
        tokenHash: await sha256Hex(token),
        userId: user.id,
        tenantId: user.tenantId,
        expiresAt: sql`now() + make_interval(secs => ${SESSION_TTL_SECONDS})`,
      });
      await db.update(users).set({ lastLoginAt: sql`now()` }).where(eq(users.id, user.id));
      writeSessionCookie(c, token, SESSION_TTL_SECONDS);
      return c.json(
        {
          tenant: { id: user.tenantId, name: user.tenantName },
          via: 'session' as const,
          user: { id: user.id, email: user.email, role: user.role },
          scopes: [...apiKeyScopes],
        },
        200,
      );
    },
  );

const LOGIN_PER_IP = { limit: 30, windowSeconds: 600 };
const LOGIN_PER_EMAIL = { limit: 10, windowSeconds: 900 };

/** Counts a login attempt against the client's IP and the account's email; 429 with Retry-After past either limit. */
async function limitLogin(env: Env, ip: string, email: string): Promise<void> {
  const [byIp, byEmail] = await Promise.all([
    limiterOf(env, `login-ip:${ip}`).take(parseRule(env.LOGIN_LIMIT_PER_IP, LOGIN_PER_IP)),
    limiterOf(env, `login-email:${await sha256Hex(email.toLowerCase())}`).take(parseRule(env.LOGIN_LIMIT_PER_EMAIL, LOGIN_PER_EMAIL)),
  ]);
  const refused = [byIp, byEmail].filter((d) => !d.allowed);
  if (refused.length === 0) return;
  const retryAfter = Math.max(...refused.map((d) => d.retryAfterSeconds));
  throw new ApiError(429, 'rate_limited', `Too many login attempts; try again in ${retryAfter} s.`, undefined, { 'retry-after': String(retryAfter) });
}

/** The tenant (and user, for a dashboard session) behind the request's credential. */
async function describeCaller(c: Context<AppEnv>): Promise<z.infer<typeof Me>> {
  const principal = c.get('principal');
  const db = c.get('db');
  const [tenant] = await db.select().from(tenants).where(eq(tenants.id, principal.tenantId)).limit(1);
  const [user] = principal.userId
    ? await db
        .select({ id: users.id, email: users.email, role: users.role })
        .from(users)
        .where(and(eq(users.id, principal.userId), eq(users.tenantId, principal.tenantId)))
        .limit(1)
    : [];
  return { tenant: { id: tenant!.id, name: tenant!.name }, via: principal.via, user: user ?? null, scopes: [...principal.scopes] };
}

export const sessionRoutes = newRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/logout',
      tags,
      summary: 'Log out of the dashboard',
      responses: { 200: jsonContent(z.object({ logged_out: z.literal(true) }), 'Logged out.'), ...errorResponses(401, 403) },
    }),
    async (c) => {
      const { sessionHash, tenantId } = c.get('principal');
      if (sessionHash) {
        await c.get('db').delete(sessions).where(eq(sessions.tokenHash, sessionHash));
        await endStreamsOf(c.env, tenantId, `session:${sessionHash}`, 'logged out');
      }
      clearSessionCookie(c);
      return c.json({ logged_out: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/auth/me',
      tags,
      summary: 'Who am I',
      description: 'The tenant (and user, for a dashboard session) the credential belongs to.',
      responses: { 200: jsonContent(Me, 'The caller.'), ...errorResponses(401) },
    }),
    async (c) => c.json(await describeCaller(c), 200),
  );
