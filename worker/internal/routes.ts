// Runner-facing routes (not part of the tenant API): the Scheduler link, event intake, auth state and the
// files of media sends.
// Contract: protocol/runner.ts. Each runner authenticates as itself (runner-auth.ts), and everything about a
// connection is allowed only to the runner holding its lease at the epoch it names (fencing).
import { Hono } from 'hono';
import { z } from 'zod';
import { inboundMediaKey, mediaInMaxBytes, recordInboundMedia } from '../media-in/store';
import { mediaInReasons } from '../../protocol/runner';
import { AuthStateWrite, EventBatch, isIdempotentFact, type EventBatchResult, type QueuedEvent } from '../../protocol/runner';
import { and, eq } from 'drizzle-orm';
import { authStateReads, connections, messages } from '../../drizzle/schema';
import { ApiError, errorResponse } from '../http/errors';
import { mediaKeyOf } from '../data/media-store';
import { AuthStateUnreadable, AuthStore, removeAuthState, takeBackAuthStateWrite } from './auth-store';
import { authStateKeyring, KeyringError } from '../secrets/keyring';
import type { Env } from '../env';
import { checkEpoch, storedLeaseViews } from './leases';
import { assertSameRunner, authorize, requireHolder, requireRunner, type RunnerContext, type RunnerEnv } from './runner-auth';
import { schedulerOf, shardsOf } from '../scheduler/client';
import { jsonBytes } from '../../protocol/utf8';
import { QUEUE_MESSAGE_BUDGET_BYTES, sendWithinLimits } from '../queues/limits';
import { spill } from '../queues/spill';

const MediaInHeaders = z.object({
  id: z.string().min(1).max(128),
  mimetype: z.string().min(1).max(255),
  size: z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  filename: z.string().max(1024).nullable(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  reason: z.enum(mediaInReasons).nullable(),
});
const safeDecode = (v: string) => {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
};

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parseEpoch(raw: string | undefined): number {
  const epoch = Number(raw);
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new ApiError(400, 'validation_failed', 'epoch must be a non-negative integer.');
  return epoch;
}

/** Events that are true whoever reports them, and stored idempotently (by WhatsApp id). */

function connectionPkParam(raw: string): string {
  if (!uuid.test(raw)) throw new ApiError(404, 'connection_not_found', 'Unknown connection.');
  return raw;
}

export const internalRoutes = new Hono<RunnerEnv>()
  .use('*', requireRunner)
  .get('/runners/connect', async (c) => {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
      throw new ApiError(400, 'bad_request', 'Expected a WebSocket upgrade.');
    }
    // A runner id is linked only with its own credential; the Scheduler verifies the token itself.
    assertSameRunner(c, c.req.query('runner_id'));
    // With a sharded Scheduler a runner opens one link per shard (the welcome of shard 0 says how many).
    const shards = shardsOf(c.env);
    const shard = Number(c.req.query('shard') ?? '0');
    if (!Number.isSafeInteger(shard) || shard < 0 || shard >= shards) {
      throw new ApiError(400, 'validation_failed', `shard must be a whole number from 0 to ${shards - 1}.`);
    }
    return schedulerOf(c.env, shard).fetch(c.req.raw);
  })
  .post('/events', async (c) => {
    const parsed = EventBatch.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) {
      return errorResponse(c, 400, 'validation_failed', 'Invalid event batch.', { issues: parsed.error.issues.slice(0, 20) });
    }
    const batch = parsed.data;
    assertSameRunner(c, batch.runner_id);
    // Judged at the Scheduler, not Postgres: a Postgres outage must not stop runners handing events over.
    const { claims } = await authorize(c, batch.leases.map((l) => ({ connectionPk: l.connection_pk, epoch: l.epoch })));
    const runnerId = c.get('runner').runnerId;
    const result: EventBatchResult = { accepted: [], rejected: [] };
    const queued: QueuedEvent[] = [];
    for (const [i, lease] of batch.leases.entries()) {
      const claim = claims[i]!;
      const event = (e: QueuedEvent['event']): QueuedEvent => ({ connection_pk: lease.connection_pk, tenant_id: claim.tenantId!, epoch: lease.epoch, runner_id: runnerId, event: e });
      if (claim.verdict === 'holder') {
        queued.push(...lease.events.map(event));
        result.accepted.push({ connection_pk: lease.connection_pk, count: lease.events.length });
        continue;
      }
      if (claim.verdict === 'former_holder') {
        // A runner that lost the lease (cut off meanwhile, or replaying its journal after a long restart) still
        // reports facts: a message it received, a receipt. They are stored idempotently, so they are kept, but
        // only from the runner that really held the lease at that epoch; what only the current holder may say
        // (status, QR) is not, and the runner is told to stop.
        const facts = lease.events.filter(isIdempotentFact);
        queued.push(...facts.map(event));
        if (facts.length) result.accepted.push({ connection_pk: lease.connection_pk, count: facts.length });
        result.rejected.push({ connection_pk: lease.connection_pk, reason: 'stale_epoch' });
        continue;
      }
      // Never held at that epoch (another runner's connection, or a made-up epoch): nothing is kept.
      result.rejected.push({ connection_pk: lease.connection_pk, reason: claim.verdict === 'not_holder' ? 'not_lease_holder' : 'unknown_connection' });
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
    const epoch = parseEpoch(c.req.query('epoch'));
    const { credentialId } = await assertHolder(c, pk, epoch);
    const store = await sealingStore(c.env);
    // Who read a session's keys, and when (never what): written before the read, so no read goes unrecorded.
    const runnerId = c.get('runner').runnerId;
    await c.get('db').insert(authStateReads).values({ runnerId, credentialId, connectionPk: pk, epoch });
    console.log(JSON.stringify({ level: 'info', msg: 'auth state read', component: 'internal', runnerId, credentialId, connectionPk: pk, epoch }));
    let dump;
    try {
      dump = await store.load(pk);
    } catch (e) {
      if (!(e instanceof AuthStateUnreadable)) throw e;
      // Not the runner's fault, and nothing it can fix: an operator must (a key dropped too early, an object moved).
      console.error(JSON.stringify({ level: 'error', msg: 'auth state unreadable', connectionPk: pk, object: e.objectKey, reason: e.reason }));
      return errorResponse(c, 500, 'auth_state_unreadable', 'The stored auth state of this connection cannot be opened.');
    }
    if (!dump) return errorResponse(c, 404, 'not_found', 'No auth state stored for this connection.');
    return c.json(dump, 200);
  })
  .post('/sessions/:pk/auth', async (c) => {
    const pk = connectionPkParam(c.req.param('pk'));
    const parsed = AuthStateWrite.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return errorResponse(c, 400, 'validation_failed', 'Invalid auth state write.', { issues: parsed.error.issues.slice(0, 20) });
    const write = parsed.data;
    assertSameRunner(c, write.runner_id);
    const store = await sealingStore(c.env);
    await assertHolder(c, pk, write.epoch);
    const stored = write.kind === 'snapshot' ? await store.writeSnapshot(pk, write.seq, write.data) : await store.writeDelta(pk, write.seq, write.data);
    // Checked again once stored: a logout or delete may have fenced the lease (and removed the state) while
    // this write was between its check and its put. Its object is then taken back, or it would outlive them.
    try {
      await assertHolder(c, pk, write.epoch);
    } catch (e) {
      await takeBackAuthStateWrite(c.env.SESSIONS, stored);
      throw e;
    }
    return c.body(null, 204);
  })
  // A media send's file, as the send-message route stored it; the runner downloads it before sending, with
  // the epoch of the lease it sends under (`?epoch=`): only the connection's lease holder gets it.
  .get('/media/:pk/:id', async (c) => {
    const key = mediaKeyOf(c.req.param('pk'), c.req.param('id'));
    if (!key) return errorResponse(c, 404, 'not_found', 'No such media file (sent, expired, or never stored).');
    await requireHolder(c, c.req.param('pk'), parseEpoch(c.req.query('epoch')));
    const object = await c.env.MEDIA.get(key);
    if (!object) return errorResponse(c, 404, 'not_found', 'No such media file (sent, expired, or never stored).');
    return c.body(object.body, 200, {
      'content-type': object.httpMetadata?.contentType ?? 'application/octet-stream',
      'content-length': String(object.size),
      'cache-control': 'no-store',
    });
  })
  // A stored message as WhatsApp sent it (a poll's secret and options, for the votes on it: runner/message-changes.ts),
  // only to the connection's lease holder at the epoch it names.
  .get('/messages/:pk/:id', async (c) => {
    const pk = connectionPkParam(c.req.param('pk'));
    await requireHolder(c, pk, parseEpoch(c.req.query('epoch')));
    const chatId = c.req.query('chat_id');
    const id = c.req.param('id');
    if (!chatId || chatId.length > 128 || id.length > 128) throw new ApiError(400, 'validation_failed', 'chat_id (a JID) and the message id are required.');
    const [row] = await c
      .get('db')
      .select({ direction: messages.direction, fromJid: messages.fromJid, type: messages.type, proto: messages.proto, content: messages.content })
      .from(messages)
      .where(and(eq(messages.connectionPk, pk), eq(messages.providerMessageId, id), eq(messages.chatId, chatId)))
      .limit(1);
    if (!row) return errorResponse(c, 404, 'not_found', 'No such message stored for this connection.');
    // WhatsApp's own message (proto JSON: a poll's options and messageContextInfo.messageSecret); rows stored
    // before the proto column kept it in `content`.
    return c.json({ direction: row.direction, from: row.fromJid, type: row.type, content: row.proto ?? row.content ?? null }, 200);
  })
  // The connection's call policy, asked by the runner as a call rings (runner/calls.ts): read then, so a
  // change takes effect with the next call and no lease has to carry it.
  .get('/calls/:pk/policy', async (c) => {
    const pk = connectionPkParam(c.req.param('pk'));
    await requireHolder(c, pk, parseEpoch(c.req.query('epoch')));
    const [row] = await c.get('db').select({ reject: connections.callReject, message: connections.callRejectMessage }).from(connections).where(eq(connections.id, pk)).limit(1);
    if (!row) throw new ApiError(404, 'connection_not_found', 'Unknown connection.');
    return c.json({ reject: row.reject, message: row.message }, 200);
  })
  // Received media (runner/media-in.ts): the tenant's size limit, then each file as it arrives, streamed into R2.
  .get('/media-in/:pk/limit', async (c) => {
    const pk = connectionPkParam(c.req.param('pk'));
    const { tenantId } = await requireHolder(c, pk, parseEpoch(c.req.query('epoch')));
    return c.json({ max_bytes: await mediaInMaxBytes(c.get('db'), c.env, tenantId) }, 200);
  })
  .put('/media-in/:pk/:id', async (c) => {
    const pk = connectionPkParam(c.req.param('pk'));
    const messageId = c.req.param('id');
    const { tenantId } = await requireHolder(c, pk, parseEpoch(c.req.query('epoch')));
    const meta = MediaInHeaders.safeParse({
      id: messageId,
      mimetype: c.req.header('x-media-mimetype'),
      size: c.req.header('x-media-size'),
      filename: c.req.header('x-media-filename') === undefined ? null : safeDecode(c.req.header('x-media-filename')!),
      sha256: c.req.header('x-media-sha256')?.toLowerCase(),
      reason: c.req.query('reason') ?? null,
    });
    if (!meta.success) return errorResponse(c, 400, 'validation_failed', 'Invalid media upload.', { issues: meta.error.issues.slice(0, 20) });
    const m = meta.data;
    const db = c.get('db');
    const max = await mediaInMaxBytes(db, c.env, tenantId);
    const row = { connectionPk: pk, providerMessageId: m.id, mimetype: m.mimetype, size: m.size, filename: m.filename, sha256: m.sha256 };
    if (m.reason) {
      // Metadata only: the runner could not (or would not) download it, and says why.
      await recordInboundMedia(db, { ...row, r2Key: null, reason: m.reason });
      return c.json({ stored: false, reason: m.reason, max_bytes: max }, 200);
    }
    const length = Number(c.req.header('content-length'));
    if (!c.req.raw.body || !Number.isSafeInteger(length) || length !== m.size) {
      return errorResponse(c, 400, 'validation_failed', 'The body must be the file, with Content-Length equal to x-media-size.');
    }
    if (length > max) {
      await recordInboundMedia(db, { ...row, r2Key: null, reason: 'too_large' });
      return c.json({ stored: false, reason: 'too_large', max_bytes: max }, 413, { 'x-media-max-bytes': String(max) });
    }
    const key = await inboundMediaKey(tenantId, pk, m.id);
    try {
      // Streamed straight on; R2 refuses the object unless its SHA-256 is the one WhatsApp's message states.
      await c.env.MEDIA.put(key, c.req.raw.body, { httpMetadata: { contentType: m.mimetype }, sha256: m.sha256, customMetadata: { message_id: m.id } });
    } catch (e) {
      console.warn(JSON.stringify({ level: 'warn', msg: 'received media refused by R2', connectionPk: pk, error: String(e) }));
      await recordInboundMedia(db, { ...row, r2Key: null, reason: 'hash_mismatch' });
      return c.json({ stored: false, reason: 'hash_mismatch', max_bytes: max }, 422);
    }
    try {
      await recordInboundMedia(db, { ...row, r2Key: key, reason: null });
    } catch (e) {
      // The connection was deleted meanwhile (its rows cascade): its file must not outlive it.
      await c.env.MEDIA.delete(key).catch(() => {});
      throw e;
    }
    return c.json({ stored: true, reason: null, max_bytes: max }, 200);
  })
  .delete('/sessions/:pk/auth', async (c) => {
    const pk = connectionPkParam(c.req.param('pk'));
    await assertHolder(c, pk, parseEpoch(c.req.query('epoch')));
    await removeAuthState(c.env.SESSIONS, pk);
    return c.body(null, 204);
  });

/**
 * The auth store under the configured keyring. Without one (or with a malformed one) nothing is read or
 * written: auth state is never stored in plaintext, and a misconfigured deployment says so loudly.
 */
async function sealingStore(env: Env): Promise<AuthStore> {
  let ring;
  let problem = 'AUTH_STATE_KEYS is not set';
  try {
    ring = await authStateKeyring(env);
  } catch (e) {
    if (!(e instanceof KeyringError)) throw e;
    problem = `AUTH_STATE_KEYS is malformed: ${e.message}`;
  }
  if (!ring) {
    console.error(JSON.stringify({ level: 'error', msg: 'auth state refused: no usable key', problem }));
    throw new ApiError(503, 'server_misconfigured', `${problem}; auth state is never stored unencrypted.`);
  }
  return new AuthStore(env.SESSIONS, ring, { acceptUnsealed: env.AUTH_STATE_ACCEPT_UNSEALED === 'true' });
}

/**
 * Auth state: the Scheduler must say this runner holds the lease at this epoch, and Postgres must still
 * have the connection at that epoch (a connection deleted a moment ago is refused at once, or a late
 * flush would re-create its keys).
 */
async function assertHolder(c: RunnerContext, pk: string, epoch: number) {
  const held = await requireHolder(c, pk, epoch);
  const view = (await storedLeaseViews(c.get('db'), [pk])).get(pk);
  const verdict = checkEpoch(view, epoch);
  if (!verdict.ok) {
    if (verdict.reason === 'unknown_connection') throw new ApiError(404, 'connection_not_found', 'Unknown connection.');
    throw new ApiError(403, 'stale_epoch', 'This lease epoch is no longer current; stop writing for this connection.');
  }
  if (view!.leaseRunnerId !== c.get('runner').runnerId) {
    throw new ApiError(403, 'not_lease_holder', 'This runner does not hold the lease of this connection at this epoch.');
  }
  return held;
}
