// Worker entry point: the HTTP app, the queue consumers and the Durable Object classes.
import { createApp } from './app';
import type { Env } from './env';
import { dispatchQueue } from './queues/dispatch';
import { redriveDeadEvents } from './queues/dead-events';
import { sweepDeliveries } from './webhooks/sweep';

export { Scheduler } from './scheduler/scheduler';
export { Hub } from './hub/hub';
export { SocketIoSession } from './realtime/socketio-session';
export { RateLimiter } from './limits/rate-limiter';

const app = createApp();

export default {
  fetch: app.fetch,
  queue: dispatchQueue,
  // Every minute (wrangler.toml [triggers]): the webhook outbox sweep, and redriving dead-lettered events an operator marked.
  scheduled: async (_controller, env, ctx) => {
    ctx.waitUntil(sweepDeliveries(env));
    ctx.waitUntil(redriveDeadEvents(env));
  },
} satisfies ExportedHandler<Env>;
