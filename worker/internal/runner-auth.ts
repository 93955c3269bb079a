// Runner-facing routes accept only the shared runner token (constant-time compare), never tenant keys.
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../http/context';
import { ApiError } from '../http/errors';
import { timingSafeEqual } from '../auth/credentials';

const encoder = new TextEncoder();

export const requireRunner = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.env.RUNNER_TOKEN;
  if (!expected) throw new ApiError(503, 'runner_unavailable', 'RUNNER_TOKEN is not configured on the control plane.');
  const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
  if (!m || !timingSafeEqual(encoder.encode(m[1]!), encoder.encode(expected))) throw new ApiError(401, 'unauthorized', 'Runner token required.');
  return next();
});
