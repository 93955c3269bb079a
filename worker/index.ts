// Worker entry point: the HTTP app, the queue consumers and the Durable Object classes.
import { createApp } from './app';
import type { Env } from './env';
import { dispatchQueue } from './queues/dispatch';

export { Scheduler } from './scheduler/scheduler';
export { Hub } from './hub/hub';

const app = createApp();

export default {
  fetch: app.fetch,
  queue: dispatchQueue,
} satisfies ExportedHandler<Env>;
