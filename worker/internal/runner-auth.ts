// Runner-facing routes accept only the shared runner token (constant-time compare), never tenant keys.
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../http/context';
import { ApiError } from '../http/errors';

function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

export const requireRunner = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.env.RUNNER_TOKEN;
  if (!expected) throw new ApiError(503, 'runner_unavailable', 'RUNNER_TOKEN is not configured on the control plane.');
  const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
  if (!m || !constantTimeEqual(m[1]!, expected)) throw new ApiError(401, 'unauthorized', 'Runner token required.');
  return next();
});
