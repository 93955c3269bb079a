// Worker entry point: the HTTP app, the queue consumers and the Durable Object classes.
import { createApp } from './app';
import type { Env } from './env';
import { dispatchQueue } from './queues/dispatch';
import { redriveDeadEvents } from './queues/dead-events';
import { sweepDeliveries } from './webhooks/sweep';
import { forgetOldAuthReads } from './internal/auth-reads';
import { resealStoredSecrets } from './webhooks/reseal';

export { Scheduler } from './scheduler/scheduler';
export { Hub } from './hub/hub';
export { SocketIoSession } from './realtime/socketio-session';
export { RateLimiter } from './limits/rate-limiter';

const app = createApp();

export default {
  fetch: app.fetch,
  queue: dispatchQueue,
  // Every minute (wrangler.toml [triggers]): the webhook outbox sweep, redriving dead-lettered events an
  // operator marked, sealing webhook secrets still plain or under an older key, and forgetting old
  // auth-state read records.
  scheduled: async (_controller, env, ctx) => {
    ctx.waitUntil(sweepDeliveries(env));
    ctx.waitUntil(redriveDeadEvents(env));
    ctx.waitUntil(resealStoredSecrets(env));
    ctx.waitUntil(forgetOldAuthReads(env));
  },
} satisfies ExportedHandler<Env>;
