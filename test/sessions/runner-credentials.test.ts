// Per-runner credentials (docs/security.md, "Runner credentials"): a runner authenticates as itself, and
// every runner-facing call about a connection is answered only for the runner holding that connection's
// lease at the epoch it names. Through the real interface: the link, /internal/events, the auth-state
// routes and a media send's file, each against no token, a malformed one, a revoked one, another runner's,
// the right runner at a stale epoch, and the right runner at the current epoch.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { authStateReads, connections, inboundMedia } from '../../drizzle/schema';
import type { RunnerEvent } from '../../protocol/runner';
import { baseUrl, closeDatabase, database, eventually, newTenant, uniqueId } from '../harness/api';
import { connectionPk } from '../harness/seed';
import { ProtocolRunner, authState, mediaFile, postEvents, type CommandFrame, type Grant } from '../harness/protocol-runner';
import { issueToken, revokeToken, runnerToken } from '../harness/runner-tokens';
import { TEST_SCHEDULER_VARS } from '../harness/global-setup';

const runners: ProtocolRunner[] = [];
async function runner(id = `cred-${randomUUID().slice(0, 6)}`, opts: ConstructorParameters<typeof ProtocolRunner>[1] = {}) {
  const r = await ProtocolRunner.connect(id, opts);
  runners.push(r);
  return r;
}
afterAll(async () => {
  for (const r of runners.splice(0)) r.close();
  await closeDatabase();
});

/**
 * The Worker's /internal router itself, for its table of routes. Imported by URL so that this project's
 * type check (Node's types) does not follow it into Worker code (Cloudflare's).
 */
const internalRouter = async (): Promise<{ routes: Array<{ method: string; path: string }> }> =>
  (await import(new URL('../../worker/internal/routes.ts', import.meta.url).href)).internalRoutes;

/** How long a revocation may take to be seen everywhere: the Scheduler's pass (SCHEDULER_RECONCILE_MS) and one Postgres read. */
const REVOCATION_BOUND_MS = Number(TEST_SCHEDULER_VARS.SCHEDULER_RECONCILE_MS) + 2_000;

const malformed = 'sbr_not-a-token';
const message = (text: string): RunnerEvent => ({
  id: `msg:${randomUUID()}`,
  at: new Date().toISOString(),
  type: 'message.upsert',
  message: {
    provider_message_id: `CRED${randomUUID().slice(0, 12).toUpperCase()}`,
    chat_id: '923001234567@s.whatsapp.net',
    direction: 'inbound',
    from: '923001234567@s.whatsapp.net',
    to: null,
    push_name: null,
    type: 'text',
    text,
    content: null,
    timestamp: new Date().toISOString(),
    source: 'live',
  },
});
const status = (): RunnerEvent => ({ id: `cs:${randomUUID()}`, at: new Date().toISOString(), type: 'connection.status', status: 'connecting' });

/** Opens a link as `runnerId` with `token` (null: none); answers the HTTP status it was refused with, or 101. */
async function linkStatus(runnerId: string, token: string | null): Promise<{ status: number; code?: string }> {
  try {
    const r = await ProtocolRunner.connect(runnerId, { token });
    runners.push(r);
    r.close();
    return { status: 101 };
  } catch (e) {
    const m = /link refused: (\d+) (.*)$/s.exec(String(e));
    if (!m) throw e;
    let code: string | undefined;
    try {
      code = JSON.parse(m[2]!).error?.code;
    } catch {
      code = undefined;
    }
    return { status: Number(m[1]), code };
  }
}

describe('every /internal route, by credential and lease', () => {
  // Runner A held the connection at `stale`, and holds it at `current` (re-granted after A came back
  // without it); B is another runner with a valid token of its own that never held it.
  const aId = `cred-a-${randomUUID().slice(0, 6)}`;
  const bId = `cred-b-${randomUUID().slice(0, 6)}`;
  let a: ProtocolRunner;
  let t: Awaited<ReturnType<typeof newTenant>>;
  let id: string;
  let pk: string;
  let stale: number;
  let current: number;
  let revoked: string;
  let aCredential: string;

  beforeAll(async () => {
    const first = await runner(aId);
    t = await newTenant('creds');
    id = uniqueId();
    await t.api.post('/api/connections', { connection_id: id });
    expect((await t.api.get(`/api/get-qr/${id}?wait=0`)).status).toBe(200);
    pk = await connectionPk(id, t.tenantId);
    stale = ((await first.waitFor((f) => f.type === 'lease.grant' && f.connection_pk === pk)) as Grant).epoch;
    // A comes back (a restart) without the session: the Scheduler frees it and grants it anew, to A, the only runner.
    a = await runner(aId);
    current = ((await a.waitFor((f) => f.type === 'lease.grant' && f.connection_pk === pk && f.epoch > stale, 20_000)) as Grant).epoch;
    await database().update(connections).set({ status: 'connected' }).where(eq(connections.id, pk));
    // A token of A's that is revoked after being used once (so the Scheduler knew it).
    const extra = await issueToken(aId);
    revoked = extra.token;
    expect((await postEvents(aId, [{ connection_pk: pk, epoch: current, events: [message('before revocation')] }], revoked)).status).toBe(200);
    await revokeToken(extra.credentialId);
    await eventually(async () => (await postEvents(aId, [{ connection_pk: pk, epoch: current, events: [message('x')] }], revoked)).status === 401, 'the revocation', REVOCATION_BOUND_MS);
    await runnerToken(bId);
    aCredential = (await database().query.runnerCredentials.findFirst({ where: (c, { and, eq, isNull }) => and(eq(c.runnerId, aId), isNull(c.revokedAt)) }))!.id;
  }, 60_000);

  it('the link: only a runner\'s own valid token opens it, and only under its own runner id', async () => {
    expect(await linkStatus(aId, null)).toMatchObject({ status: 401 });
    expect(await linkStatus(aId, malformed)).toMatchObject({ status: 401 });
    expect(await linkStatus(aId, revoked)).toMatchObject({ status: 401 });
    // B's valid token under A's id: refused, and A's link is not taken over.
    expect(await linkStatus(aId, await runnerToken(bId))).toEqual({ status: 403, code: 'runner_id_mismatch' });
    expect(a.closedWith).toBeUndefined();
    // A token whose runner id and secret look right but was never issued.
    expect(await linkStatus(aId, `sbr_${aId}_${randomBytes(32).toString('hex')}`)).toMatchObject({ status: 401 });
  });

  it('/internal/events: nothing without a valid token; a runner that never held the lease gets nothing in, its old holder only its facts', async () => {
    const batch = (epoch: number, events: RunnerEvent[]) => [{ connection_pk: pk, epoch, events }];
    expect((await postEvents(aId, batch(current, [status()]), null)).status).toBe(401);
    expect((await postEvents(aId, batch(current, [status()]), malformed)).status).toBe(401);
    expect((await postEvents(aId, batch(current, [status()]), revoked)).status).toBe(401);
    // B's token speaking as A.
    const claimed = await postEvents(aId, batch(current, [status()]), await runnerToken(bId));
    expect([claimed.status, claimed.body.error.code]).toEqual([403, 'runner_id_mismatch']);
    // B as itself: neither the current epoch nor the old one was ever B's, so not even its "facts" are taken.
    const intruder = message('injected by another runner');
    for (const epoch of [current, stale]) {
      const res = await postEvents(bId, batch(epoch, [status(), intruder]));
      expect(res.body).toEqual({ accepted: [], rejected: [{ connection_pk: pk, reason: 'not_lease_holder' }] });
    }
    // A at the stale epoch: it really held that one, so its facts are kept; its status is not.
    const late = message('received by A under the old epoch');
    expect((await postEvents(aId, batch(stale, [status(), late]))).body).toEqual({
      accepted: [{ connection_pk: pk, count: 1 }],
      rejected: [{ connection_pk: pk, reason: 'stale_epoch' }],
    });
    // A at the current epoch: everything.
    const now = message('received by A now');
    expect((await postEvents(aId, batch(current, [now]))).body).toEqual({ accepted: [{ connection_pk: pk, count: 1 }], rejected: [] });

    const texts = async () => ((await t.api.get(`/api/messages/${id}/923001234567?limit=100`)).body as { message: string }[]).map((m) => m.message);
    await eventually(async () => {
      const stored = await texts();
      return stored.includes('received by A now') && stored.includes('received by A under the old epoch');
    }, 'A\'s messages to be stored', 15_000);
    expect(await texts()).not.toContain('injected by another runner');
  });

  it('auth state: read, written and deleted only by the holder at its current epoch, and every read recorded', async () => {
    const write = (epoch: number) => ({ runner_id: aId, epoch, kind: 'delta' as const, seq: 1, data: '{"keys":{"k":1}}' });
    const as = (runnerId: string, token?: string | null) => ({
      get: (epoch: number) => authState(runnerId, 'GET', pk, epoch, undefined, token),
      post: (epoch: number, body: object = { ...write(epoch), runner_id: runnerId }) => authState(runnerId, 'POST', pk, epoch, body, token),
      delete: (epoch: number) => authState(runnerId, 'DELETE', pk, epoch, undefined, token),
    });
    const reads = () => database().select().from(authStateReads).where(eq(authStateReads.connectionPk, pk));

    for (const method of ['get', 'post', 'delete'] as const) {
      expect((await as(aId, null)[method](current)).status, `${method} without a token`).toBe(401);
      expect((await as(aId, malformed)[method](current)).status, `${method} with a malformed token`).toBe(401);
      expect((await as(aId, revoked)[method](current)).status, `${method} with a revoked token`).toBe(401);
      const other = await as(bId)[method](current);
      expect([other.status, other.body.error.code], `${method} by another runner`).toEqual([403, 'not_lease_holder']);
      const old = await as(aId)[method](stale);
      expect([old.status, old.body.error.code], `${method} at a stale epoch`).toEqual([403, 'stale_epoch']);
    }
    // B's token with A's runner id in the write.
    const claimed = await authState(bId, 'POST', pk, current, write(current));
    expect([claimed.status, claimed.body.error.code]).toEqual([403, 'runner_id_mismatch']);
    expect(await reads()).toEqual([]);

    expect((await as(aId).post(current)).status).toBe(204);
    const read = await as(aId).get(current);
    expect(read).toEqual({ status: 200, body: { snapshot: null, deltas: [{ seq: 1, data: '{"keys":{"k":1}}' }] } });
    // Recorded: who, with which credential, which connection and epoch, when; never what.
    const recorded = await reads();
    expect(recorded).toEqual([{ id: expect.any(Number), runnerId: aId, credentialId: aCredential, connectionPk: pk, epoch: current, readAt: expect.any(Date) }]);
    expect(Date.now() - recorded[0]!.readAt.getTime()).toBeLessThan(60_000);

    expect((await as(aId).delete(current)).status).toBe(204);
    expect((await as(aId).get(current)).status).toBe(404);
    expect(await database().select().from(authStateReads).where(and(eq(authStateReads.connectionPk, pk), eq(authStateReads.runnerId, bId)))).toEqual([]);
  });

  it("a media send's file: served only to the holder at its current epoch", async () => {
    const file = randomBytes(2000);
    const sending = t.api.post('/api/send-message', { connection_id: id, to: '15550002222', media: { type: 'document', base64: file.toString('base64'), filename: 'a.bin' } });
    const frame = (await a.waitFor((f) => f.type === 'command' && f.command.name === 'send')) as CommandFrame;
    if (frame.command.name !== 'send' || !frame.command.media) throw new Error('expected a media send');
    expect(frame.epoch).toBe(current);
    const url = frame.command.media.source.url;
    const code = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code];

    expect((await mediaFile(aId, url, current, null)).status).toBe(401);
    expect((await mediaFile(aId, url, current, malformed)).status).toBe(401);
    expect((await mediaFile(aId, url, current, revoked)).status).toBe(401);
    expect(await code(await mediaFile(bId, url, current))).toEqual([403, 'not_lease_holder']);
    expect(await code(await mediaFile(aId, url, stale))).toEqual([403, 'stale_epoch']);
    // Without an epoch: refused as well.
    expect((await fetch(url, { headers: { authorization: `Bearer ${await runnerToken(aId)}` } })).status).toBe(400);
    const ok = await mediaFile(aId, url, current);
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer()).equals(file)).toBe(true);

    a.send({ type: 'reply', request_id: frame.request_id, ok: true, result: { timestamp: new Date().toISOString() } });
    expect((await sending).status).toBe(200);
  });

  // The router's own table, so a new /internal route about a connection cannot go without its refusals.
  it('every /internal route about a connection, read from the router: refused without a valid token, to another runner and at a stale epoch', async () => {
    const mediaId = randomUUID();
    const file = randomBytes(64);
    // How each route is called as `runnerId` under `epoch` (the runner id also goes where a route takes it in its body).
    const calls: Record<string, (runnerId: string, epoch: number) => { path: string; init?: RequestInit }> = {
      'GET /sessions/:pk/auth': (_, e) => ({ path: `/sessions/${pk}/auth?epoch=${e}` }),
      'POST /sessions/:pk/auth': (r, e) => ({
        path: `/sessions/${pk}/auth`,
        init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ runner_id: r, epoch: e, kind: 'delta', seq: 7, data: '{"keys":{"x":1}}' }) },
      }),
      'DELETE /sessions/:pk/auth': (_, e) => ({ path: `/sessions/${pk}/auth?epoch=${e}`, init: { method: 'DELETE' } }),
      'GET /media/:pk/:id': (_, e) => ({ path: `/media/${pk}/${mediaId}?epoch=${e}` }),
      'GET /messages/:pk/:id': (_, e) => ({ path: `/messages/${pk}/NOSUCHMESSAGE?epoch=${e}&chat_id=923001234567%40s.whatsapp.net` }),
      'GET /media-in/:pk/limit': (_, e) => ({ path: `/media-in/${pk}/limit?epoch=${e}` }),
      'GET /calls/:pk/policy': (_, e) => ({ path: `/calls/${pk}/policy?epoch=${e}` }),
      'PUT /media-in/:pk/:id': (_, e) => ({
        path: `/media-in/${pk}/MATRIX${mediaId.slice(0, 8).toUpperCase()}?epoch=${e}`,
        init: {
          method: 'PUT',
          headers: { 'x-media-mimetype': 'application/octet-stream', 'x-media-size': String(file.length), 'x-media-sha256': createHash('sha256').update(file).digest('hex') },
          body: file,
        },
      }),
    };
    // Routes with tests of their own above: the link, and event intake (which answers per lease, not per request).
    const ownTests = new Set(['ALL /*', 'GET /runners/connect', 'POST /events']);
    const routed = (await internalRouter()).routes.map((r) => `${r.method} ${r.path}`).filter((r) => !ownTests.has(r));
    expect(routed.sort(), 'a route of worker/internal/routes.ts without a row here').toEqual(Object.keys(calls).sort());

    const call = async (route: string, runnerId: string, epoch: number, token?: string | null) => {
      const { path, init } = calls[route]!(runnerId, epoch);
      const headers = { ...(init?.headers as Record<string, string> | undefined), ...(token === null ? {} : { authorization: `Bearer ${token ?? (await runnerToken(runnerId))}` }) };
      const res = await fetch(`${baseUrl()}/internal${path}`, { ...init, headers });
      const text = await res.text();
      let code: string | undefined;
      try {
        code = JSON.parse(text).error?.code;
      } catch {
        code = undefined;
      }
      return { status: res.status, code };
    };
    for (const route of Object.keys(calls)) {
      expect((await call(route, aId, current, null)).status, `${route} without a token`).toBe(401);
      expect((await call(route, aId, current, malformed)).status, `${route} with a malformed token`).toBe(401);
      expect((await call(route, aId, current, revoked)).status, `${route} with a revoked token`).toBe(401);
      expect(await call(route, bId, current), `${route} by another runner`).toEqual({ status: 403, code: 'not_lease_holder' });
      expect(await call(route, aId, stale), `${route} at a stale epoch`).toEqual({ status: 403, code: 'stale_epoch' });
      // And the holder at its epoch gets past the lease check (whatever the route then answers of its own).
      const held = await call(route, aId, current);
      expect([401, 403], `${route} by the holder: ${JSON.stringify(held)}`).not.toContain(held.status);
    }
    // The holder's upload went all the way through: the matrix reached past the lease check into the route.
    expect(await database().select().from(inboundMedia).where(and(eq(inboundMedia.connectionPk, pk), eq(inboundMedia.providerMessageId, `MATRIX${mediaId.slice(0, 8).toUpperCase()}`)))).toHaveLength(1);
  });
});

describe('issuing, rotating and revoking', () => {
  afterEach(() => {
    for (const r of runners.splice(0)) r.close();
  });

  it('two tokens of a runner are valid at once (rotation); a third is refused until one is revoked', async () => {
    const runnerId = `rot-${randomUUID().slice(0, 6)}`;
    const old = await runnerToken(runnerId);
    const next = await issueToken(runnerId, 'next');
    await expect(issueToken(runnerId, 'third')).rejects.toThrow(/already has 2 valid tokens/);
    const probe = (token: string) => postEvents(runnerId, [{ connection_pk: randomUUID(), epoch: 1, events: [status()] }], token);
    expect((await probe(old)).status).toBe(200);
    expect((await probe(next.token)).status).toBe(200);
    const r1 = await runner(runnerId, { token: old });
    r1.close();
    // The runner restarted with the new token; then the old one is revoked.
    const r2 = await runner(runnerId, { token: next.token });
    const oldCredential = (await database().query.runnerCredentials.findFirst({ where: (c, { and, eq, ne, isNull }) => and(eq(c.runnerId, runnerId), ne(c.id, next.credentialId), isNull(c.revokedAt)) }))!;
    const revokedAt = Date.now();
    await revokeToken(oldCredential.id);
    await eventually(async () => (await probe(old)).status === 401, 'the old token to be refused', REVOCATION_BOUND_MS);
    expect(Date.now() - revokedAt).toBeLessThan(REVOCATION_BOUND_MS);
    expect((await probe(next.token)).status).toBe(200);
    // The link opened with the new token stays up.
    await new Promise((r) => setTimeout(r, 1500));
    expect(r2.closedWith).toBeUndefined();
    expect(await linkStatus(runnerId, old)).toMatchObject({ status: 401 });
    await issueToken(runnerId, 'third'); // one slot free again
  });

  it("revoking a runner's token closes its open link, and it cannot link again with it", async () => {
    const runnerId = `rev-${randomUUID().slice(0, 6)}`;
    const issued = await issueToken(runnerId, 'doomed');
    const r = await runner(runnerId, { token: issued.token });
    const revokedAt = Date.now();
    await revokeToken(issued.credentialId);
    await eventually(async () => r.closedWith, 'the link to be closed', REVOCATION_BOUND_MS);
    expect(r.closedWith).toEqual({ code: 4003, reason: 'runner credential revoked' });
    expect(Date.now() - revokedAt).toBeLessThan(REVOCATION_BOUND_MS);
    expect(await linkStatus(runnerId, issued.token)).toMatchObject({ status: 401 });
  });

  it('a runner id cannot be linked with another runner\'s credential, so no link is taken over under its id', async () => {
    const victim = await runner();
    const other = `thief-${randomUUID().slice(0, 6)}`;
    expect(await linkStatus(victim.id, await runnerToken(other))).toEqual({ status: 403, code: 'runner_id_mismatch' });
    // Nor its events sent in its name.
    const events = await postEvents(victim.id, [{ connection_pk: randomUUID(), epoch: 1, events: [status()] }], await runnerToken(other));
    expect([events.status, events.body.error.code]).toEqual([403, 'runner_id_mismatch']);
    await new Promise((r) => setTimeout(r, 500));
    expect(victim.closedWith).toBeUndefined();
    expect((await victim.waitFor((f) => f.type === 'welcome')).type).toBe('welcome');
  });
});
