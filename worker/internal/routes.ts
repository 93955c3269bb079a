// Runner-facing routes (not part of the tenant API): the Scheduler link, event intake, auth state and the
// files of media sends.
// Contract: protocol/runner.ts. Every write is fenced by the connection's lease epoch.
import { Hono } from 'hono';
import { AuthStateWrite, EventBatch, type EventBatchResult, type QueuedEvent, type RunnerEvent } from '../../protocol/runner';
import type { AppEnv } from '../http/context';
import { ApiError, errorResponse } from '../http/errors';
import { mediaKeyOf } from '../data/media-store';
import { AuthStore } from './auth-store';
import { checkEpoch, leaseViews } from './leases';
import { requireRunner } from './runner-auth';
import { schedulerOf } from '../scheduler/client';
import { jsonBytes } from '../../protocol/utf8';
import { QUEUE_MESSAGE_BUDGET_BYTES, sendWithinLimits } from '../queues/limits';
import { spill } from '../queues/spill';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parseEpoch(raw: string | undefined): number {
  const epoch = Number(raw);
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new ApiError(400, 'validation_failed', 'epoch must be a non-negative integer.');
  return epoch;
}

/** Events that are true whoever reports them, and stored idempotently (by WhatsApp id). */
const isIdempotentFact = (e: RunnerEvent) => e.type === 'message.upsert' || e.type === 'message.status';

function connectionPkParam(raw: string): string {
  if (!uuid.test(raw)) throw new ApiError(404, 'connection_not_found', 'Unknown connection.');
  return raw;
}

export const internalRoutes = new Hono<AppEnv>()
  .use('*', requireRunner)
  .get('/runners/connect', async (c) => {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      throw new ApiError(400, 'bad_request', 'Expected a WebSocket upgrade.');
    }
    return schedulerOf(c.env).fetch(c.req.raw);
  })
  .post('/events', async (c) => {
    const parsed = EventBatch.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) {
      return errorResponse(c, 400, 'validation_failed', 'Invalid event batch.', { issues: parsed.error.issues.slice(0, 20) });
    }
    const batch = parsed.data;
    const views = await leaseViews(c.get('db'), batch.leases.map((l) => l.connection_pk));
    const result: EventBatchResult = { accepted: [], rejected: [] };
    const queued: QueuedEvent[] = [];
    for (const lease of batch.leases) {
      const view = views.get(lease.connection_pk);
      const verdict = checkEpoch(view, lease.epoch);
      if (!verdict.ok) {
        result.rejected.push({ connection_pk: lease.connection_pk, reason: verdict.reason });
        // A runner that lost the lease (cut off meanwhile, or replaying its journal after a long restart) still
        // reports facts: a message it received, a receipt. They are stored idempotently, so they are kept;
        // what only the holder may say (status, QR) is not, and the runner is told to stop.
        const facts = view ? lease.events.filter(isIdempotentFact) : [];
        for (const event of facts) {
          queued.push({ connection_pk: lease.connection_pk, tenant_id: view!.tenantId, epoch: lease.epoch, runner_id: batch.runner_id, event });
        }
        if (facts.length) result.accepted.push({ connection_pk: lease.connection_pk, count: facts.length });
        continue;
      }
      for (const event of lease.events) {
        queued.push({ connection_pk: lease.connection_pk, tenant_id: verdict.view.tenantId, epoch: lease.epoch, runner_id: batch.runner_id, event });
      }
      result.accepted.push({ connection_pk: lease.connection_pk, count: lease.events.length });
    }
    // An event too large for a queue message goes by reference (R2), so that no single event, however
    // long, can make the batch unsendable and stall every connection behind it on the runner.
    const messages = await Promise.all(queued.map((q) => (jsonBytes(q) > QUEUE_MESSAGE_BUDGET_BYTES ? spill(c.env.EVENT_SPILL, q) : q)));
    // Only once every event is on the queue does the runner get its 200 and drop them from its outbox.
    await sendWithinLimits(c.env.EVENTS, messages);
    return c.json(result, 200);
  })
  .get('/sessions/:pk/auth', async (c) => {
    const pk = connectionPkParam(c.req.param('pk'));
    await assertHolder(c.get('db'), pk, parseEpoch(c.req.query('epoch')));
    const dump = await new AuthStore(c.env.SESSIONS, c.env.AUTH_STATE_KEY).load(pk);
    if (!dump) return errorResponse(c, 404, 'not_found', 'No auth state stored for this connection.');
    return c.json(dump, 200);
  })
  .post('/sessions/:pk/auth', async (c) => {
    const pk = connectionPkParam(c.req.param('pk'));
    const parsed = AuthStateWrite.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return errorResponse(c, 400, 'validation_failed', 'Invalid auth state write.', { issues: parsed.error.issues.slice(0, 20) });
    const write = parsed.data;
    await assertHolder(c.get('db'), pk, write.epoch);
    const store = new AuthStore(c.env.SESSIONS, c.env.AUTH_STATE_KEY);
    if (write.kind === 'snapshot') await store.writeSnapshot(pk, write.seq, write.data);
    else await store.writeDelta(pk, write.seq, write.data);
    return c.body(null, 204);
  })
  // A media send's file, as the send-message route stored it; the runner downloads it before sending.
  .get('/media/:pk/:id', async (c) => {
    const key = mediaKeyOf(c.req.param('pk'), c.req.param('id'));
    const object = key ? await c.env.MEDIA.get(key) : null;
    if (!object) return errorResponse(c, 404, 'not_found', 'No such media file (sent, expired, or never stored).');
    return c.body(object.body, 200, {
      'content-type': object.httpMetadata?.contentType ?? 'application/octet-stream',
      'content-length': String(object.size),
      'cache-control': 'no-store',
    });
  })
  .delete('/sessions/:pk/auth', async (c) => {
    const pk = connectionPkParam(c.req.param('pk'));
    await assertHolder(c.get('db'), pk, parseEpoch(c.req.query('epoch')));
    await new AuthStore(c.env.SESSIONS, c.env.AUTH_STATE_KEY).remove(pk);
    return c.body(null, 204);
  });

async function assertHolder(db: AppEnv['Variables']['db'], pk: string, epoch: number) {
  const verdict = checkEpoch((await leaseViews(db, [pk])).get(pk), epoch);
  if (!verdict.ok) {
    if (verdict.reason === 'unknown_connection') throw new ApiError(404, 'connection_not_found', 'Unknown connection.');
    throw new ApiError(409, 'stale_epoch', 'This lease epoch is no longer current; stop writing for this connection.');
  }
}
