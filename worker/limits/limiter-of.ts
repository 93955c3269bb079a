// The RateLimiter of a key, as the Worker reaches it. Apart from the class (rate-limiter.ts), so that code
// which only calls a limiter does not load cloudflare:workers (the tests read some routers under Node).
import type { Env } from '../env';

/** The limiter of one key (e.g. `login-ip:203.0.113.7`). */
export const limiterOf = (env: Pick<Env, 'RATE_LIMITER'>, key: string) => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key));
