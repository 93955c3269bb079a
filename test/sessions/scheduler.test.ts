// The control plane's side of sessions, through the real runner-facing interface: leases and their
// epochs, fencing of stale runners, failover after a runner vanishes, drain hand-off, command routing.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { connections } from '../../drizzle/schema';
import { closeDatabase, database, eventually, expectError, newTenant, uniqueId } from '../harness/api';
import { connectionPk } from '../harness/seed';
import { ProtocolRunner, authState, postEvents, type Grant } from '../harness/protocol-runner';

const runners: ProtocolRunner[] = [];
async function runner(id = `r-${randomUUID().slice(0, 6)}`, opts: ConstructorParameters<typeof ProtocolRunner>[1] = {}) {
  const r = await ProtocolRunner.connect(id, opts);
  runners.push(r);
  return r;
}

afterEach(() => {
  for (const r of runners.splice(0)) r.close();
});
afterAll(closeDatabase);

/** A tenant's connection that has been asked to run (as GET /api/get-qr does). */
async function runningConnection() {
  const t = await newTenant();
  const id = uniqueId();
  await t.api.post('/api/connections', { connection_id: id });
  expect((await t.api.get(`/api/get-qr/${id}?wait=0`)).status).toBe(200);
  return { t, id, pk: await connectionPk(id, t.tenantId) };
}

const statusEvent = (status: 'connecting' | 'connected', at = new Date().toISOString()) => ({
  id: `cs:${randomUUID()}`,
  at,
  type: 'connection.status' as const,
  status,
  phone_number: status === 'connected' ? '+923001234567' : null,
});

describe('leases and fencing', () => {
  it('grants a connection that should run to a connected runner, with the epoch mirrored in Postgres', async () => {
    const a = await runner();
    const { pk } = await runningConnection();
    const grant = (await a.waitFor((f) => f.type === 'lease.grant' && f.connection_pk === pk)) as Grant;
    expect(grant.epoch).toBeGreaterThan(0);
    const [row] = await database().select().from(connections).where(eq(connections.id, pk));
    expect(row).toMatchObject({ leaseRunnerId: a.id, leaseEpoch: grant.epoch });
  });

  it("accepts events under the current epoch and refuses a stale one; auth state likewise", async () => {
    const a = await runner();
    const { pk } = await runningConnection();
    const { epoch } = (await a.waitFor((f) => f.type === 'lease.grant' && f.connection_pk === pk)) as Grant;

    const ok = await postEvents(a.id, [{ connection_pk: pk, epoch, events: [statusEvent('connecting')] }]);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ accepted: [{ connection_pk: pk, count: 1 }], rejected: [] });
    const stale = await postEvents(a.id, [{ connection_pk: pk, epoch: epoch - 1, events: [statusEvent('connecting')] }]);
    // An epoch this runner never held (the one before its grant): nothing of it is kept.
    expect(stale.body).toEqual({ accepted: [], rejected: [{ connection_pk: pk, reason: 'not_lease_holder' }] });
    const unknown = await postEvents(a.id, [{ connection_pk: randomUUID(), epoch, events: [statusEvent('connecting')] }]);
    expect(unknown.body.rejected[0].reason).toBe('unknown_connection');

    expect((await authState(a.id, 'GET', pk, epoch)).status).toBe(404);
    const write = (e: number, seq: number, kind: 'delta' | 'snapshot', data: string) =>
      authState(a.id, 'POST', pk, e, { runner_id: a.id, epoch: e, kind, seq, data });
    expect((await write(epoch, 1, 'delta', '{"keys":{"a":1}}')).status).toBe(204);
    expect((await write(epoch, 2, 'delta', '{"keys":{"b":2}}')).status).toBe(204);
    expect((await authState(a.id, 'GET', pk, epoch)).body).toEqual({
      snapshot: null,
      deltas: [
        { seq: 1, data: '{"keys":{"a":1}}' },
        { seq: 2, data: '{"keys":{"b":2}}' },
      ],
    });
    expect((await write(epoch, 2, 'snapshot', '{"creds":{},"keys":{"a":1,"b":2}}')).status).toBe(204);
    expect((await write(epoch, 3, 'delta', '{"keys":{"c":3}}')).status).toBe(204);
    expect((await authState(a.id, 'GET', pk, epoch)).body).toEqual({
      snapshot: { seq: 2, data: '{"creds":{},"keys":{"a":1,"b":2}}' },
      deltas: [{ seq: 3, data: '{"keys":{"c":3}}' }],
    });
    // An epoch this runner was never granted.
    const staleWrite = await write(epoch + 1, 4, 'delta', '{}');
    expect(staleWrite.status).toBe(403);
    expect(staleWrite.body.error.code).toBe('not_lease_holder');
    expect((await authState(a.id, 'GET', pk, epoch - 1)).status).toBe(403);
  });

  it('accepted events reach Postgres through the events queue and show in the API', async () => {
    const a = await runner();
    const { t, id, pk } = await runningConnection();
    const { epoch } = (await a.waitFor((f) => f.type === 'lease.grant' && f.connection_pk === pk)) as Grant;
    const qrAt = new Date();
    const qr = { id: `qr:${randomUUID()}`, at: qrAt.toISOString(), type: 'qr' as const, qr: '2@ref,noise,identity,adv', expires_at: new Date(qrAt.getTime() + 20_000).toISOString() };
    await postEvents(a.id, [{ connection_pk: pk, epoch, events: [qr] }]);
    const waiting = await eventually(async () => {
      const res = await t.api.get(`/api/get-qr/${id}?wait=0`);
      return res.body.qr_raw === qr.qr ? res.body : undefined;
    }, 'the events pipeline', 15_000);
    expect(waiting).toMatchObject({ status: 'connecting', expires_at: qr.expires_at });

    const inbound = {
      id: 'msg:ABC1',
      at: new Date().toISOString(),
      type: 'message.upsert' as const,
      message: {
        provider_message_id: 'ABC1',
        chat_id: '923001234567@s.whatsapp.net',
        direction: 'inbound' as const,
        from: '923001234567@s.whatsapp.net',
        to: null,
        push_name: 'Alice',
        type: 'text',
        text: 'hello there',
        content: null,
        timestamp: new Date().toISOString(),
        source: 'live' as const,
      },
    };
    // Delivered twice (at-least-once): stored once.
    await postEvents(a.id, [{ connection_pk: pk, epoch, events: [statusEvent('connected'), inbound] }]);
    await postEvents(a.id, [{ connection_pk: pk, epoch, events: [inbound] }]);
    const connected = await eventually(async () => {
      const res = await t.api.get(`/api/connections/${id}`);
      return res.body.status === 'connected' ? res.body : undefined;
    }, 'the events pipeline', 15_000);
    expect(connected.phone_number).toBe('+923001234567');
    const chats = await eventually(async () => {
      const res = await t.api.get(`/api/chats/${id}`);
      return res.body.length ? res.body : undefined;
    }, 'the events pipeline', 15_000);
    expect(chats).toEqual([expect.objectContaining({ chat_id: '923001234567@s.whatsapp.net', name: 'Alice', unread_count: 1, last_message: 'hello there' })]);
    expect((await t.api.get(`/api/messages/${id}/923001234567`)).body).toHaveLength(1);
  });

  it('refuses runners without the runner token', async () => {
    const { pk } = await runningConnection();
    expect((await postEvents('x', [{ connection_pk: pk, epoch: 1, events: [statusEvent('connecting')] }], 'wrong')).status).toBe(401);
    await expect(ProtocolRunner.connect('intruder', { token: 'wrong' })).rejects.toThrow(/401/);
  });

  it('a runner that vanishes loses its connections to another runner under a higher epoch; its writes are refused, but the messages it received are kept', async () => {
    const a = await runner();
    const { t, id, pk } = await runningConnection();
    const first = (await a.waitFor((f) => f.type === 'lease.grant' && f.connection_pk === pk)) as Grant;
    const b = await runner();
    a.vanish();
    const moved = (await b.waitFor((f) => f.type === 'lease.grant' && f.connection_pk === pk, 30_000)) as Grant;
    expect(moved.epoch).toBeGreaterThan(first.epoch);
    // What it received while cut off is a fact and is kept; what only the holder may say (status) is not.
    const received = {
      id: `msg:ZOMBIE${first.epoch}`,
      at: new Date().toISOString(),
      type: 'message.upsert' as const,
      message: {
        provider_message_id: `ZOMBIE${randomUUID().slice(0, 8)}`,
        chat_id: '923001234567@s.whatsapp.net',
        direction: 'inbound' as const,
        from: '923001234567@s.whatsapp.net',
        to: null,
        push_name: null,
        type: 'text',
        text: 'received by the old holder',
        content: null,
        timestamp: new Date().toISOString(),
        source: 'live' as const,
      },
    };
    const zombie = await postEvents(a.id, [{ connection_pk: pk, epoch: first.epoch, events: [statusEvent('connected'), received] }]);
    expect(zombie.body).toEqual({ accepted: [{ connection_pk: pk, count: 1 }], rejected: [{ connection_pk: pk, reason: 'stale_epoch' }] });
    await eventually(async () => (await t.api.get(`/api/messages/${id}/923001234567`)).body.some((m: { message: string }) => m.message === 'received by the old holder'), 'the old holder\'s message to be stored', 15_000);
    expect((await t.api.get(`/api/connections/${id}`)).body.status).not.toBe('connected');
    const lateWrite = await authState(a.id, 'POST', pk, first.epoch, { runner_id: a.id, epoch: first.epoch, kind: 'delta', seq: 9, data: '{}' });
    expect([lateWrite.status, lateWrite.body.error.code]).toEqual([403, 'stale_epoch']);
    expect((await postEvents(b.id, [{ connection_pk: pk, epoch: moved.epoch, events: [statusEvent('connecting')] }])).body.accepted).toHaveLength(1);
  });

  it('a runner claiming a session it does not hold is told to stop it', async () => {
    const a = await runner();
    const { pk } = await runningConnection();
    const grant = (await a.waitFor((f) => f.type === 'lease.grant' && f.connection_pk === pk)) as Grant;
    const impostor = await runner(undefined, { claims: [{ connection_pk: pk, epoch: grant.epoch }] });
    const revoke = await impostor.waitFor((f) => f.type === 'lease.revoke' && f.connection_pk === pk);
    expect(revoke).toMatchObject({ epoch: grant.epoch, reason: 'stale' });
    expect(impostor.grants(pk)).toEqual([]);
    // The rightful holder keeps it.
    expect(a.revokes(pk)).toEqual([]);
  });

  it('a draining runner hands its connections off one at a time, each only after it released', async () => {
    const c = await runner();
    const one = await runningConnection();
    const two = await runningConnection();
    await c.waitFor((f) => f.type === 'lease.grant' && f.connection_pk === one.pk);
    await c.waitFor((f) => f.type === 'lease.grant' && f.connection_pk === two.pk);
    const d = await runner();
    c.send({ type: 'draining' });
    const firstRevoke = (await c.waitFor((f) => f.type === 'lease.revoke')) as Extract<typeof c.frames[number], { type: 'lease.revoke' }>;
    expect(firstRevoke.reason).toBe('drain');
    await new Promise((r) => setTimeout(r, 2500));
    // Not re-granted, and the other one not revoked, until the first is released.
    expect(d.grants(firstRevoke.connection_pk)).toEqual([]);
    expect(c.revokes()).toHaveLength(1);
    c.release(firstRevoke.connection_pk, firstRevoke.epoch);
    const regrant = (await d.waitFor((f) => f.type === 'lease.grant' && f.connection_pk === firstRevoke.connection_pk)) as Grant;
    expect(regrant.epoch).toBeGreaterThan(firstRevoke.epoch);
    const second = (await c.waitFor((f) => f.type === 'lease.revoke' && f.connection_pk !== firstRevoke.connection_pk)) as typeof firstRevoke;
    c.release(second.connection_pk, second.epoch);
    await d.waitFor((f) => f.type === 'lease.grant' && f.connection_pk === second.connection_pk);
    const heldByD = d.held().map((g) => g.connection_pk);
    expect(heldByD).toContain(one.pk);
    expect(heldByD).toContain(two.pk);
    expect(c.held().map((g) => g.connection_pk)).not.toContain(one.pk);
  });
});

describe('sending through the lease holder', () => {
  it('answers the runner\'s provider id, and a retry with the same client_message_id never sends twice', async () => {
    const sent: string[] = [];
    const a = await runner(undefined, {
      onCommand: (f) => {
        if (f.command.name !== 'send') return { ok: false, code: 'bad_command', message: 'unexpected' };
        sent.push(f.command.message_id);
        return { ok: true, result: { provider_message_id: f.command.message_id, timestamp: new Date().toISOString() } };
      },
    });
    const { t, id, pk } = await runningConnection();
    await a.waitFor((f) => f.type === 'lease.grant' && f.connection_pk === pk);
    await database().update(connections).set({ status: 'connected' }).where(eq(connections.id, pk));

    const body = { connection_id: id, to: '923001234567', message: 'Hello from API!', client_message_id: 'msg-001' };
    const first = await t.api.post('/api/send-message', body);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ status: 'sent', client_message_id: 'msg-001', provider_message_id: sent[0] });
    const again = await t.api.post('/api/send-message', body);
    expect(again.body).toEqual(first.body);
    expect(sent).toHaveLength(1);
    expect(a.commands()[0]!.command).toMatchObject({ name: 'send', to: '923001234567@s.whatsapp.net', text: 'Hello from API!' });

    const stored = await eventually(async () => {
      const row = (await t.api.get(`/api/messages/${id}/923001234567`)).body[0];
      return row?.status === 'sent' ? row : undefined;
    }, 'the events pipeline', 15_000);
    expect(stored).toMatchObject({ direction: 'outbound', client_message_id: 'msg-001', provider_message_id: sent[0] });
    expect(first.headers.get('server-timing')).toMatch(/db;dur=\d+, runner;dur=\d+/);

    // The same request twice at once: the second waits for the first's outcome instead of sending again.
    const twice = { ...body, client_message_id: 'msg-002', message: 'twice at once' };
    const [p1, p2] = await Promise.all([t.api.post('/api/send-message', twice), t.api.post('/api/send-message', twice)]);
    expect([p1.status, p2.status]).toEqual([200, 200]);
    expect(p2.body).toEqual(p1.body);
    expect(sent).toHaveLength(2);

    // Without a client id every request is a new message.
    const other = await t.api.post('/api/send-message', { connection_id: id, to: '923001234567', message: 'again' });
    expect(other.body.provider_message_id).not.toBe(first.body.provider_message_id);
    expect(sent).toHaveLength(3);
  });

  it('a runner that does not answer gives 504 and leaves the message unknown; the retry resends the same id', async () => {
    let answer = false;
    const seen: string[] = [];
    const a = await runner(undefined, {
      onCommand: (f) => {
        if (f.command.name !== 'send') return undefined;
        seen.push(f.command.message_id);
        return answer ? { ok: true, result: { provider_message_id: f.command.message_id } } : undefined;
      },
    });
    const { t, id, pk } = await runningConnection();
    await a.waitFor((f) => f.type === 'lease.grant' && f.connection_pk === pk);
    await database().update(connections).set({ status: 'connected' }).where(eq(connections.id, pk));
    const body = { connection_id: id, to: '923001234567', message: 'are you there?', client_message_id: 'slow-1' };
    const timedOut = await t.api.post('/api/send-message', body);
    expectError(timedOut, 504, 'runner_timeout');
    expect((await t.api.get(`/api/messages/${id}/923001234567`)).body[0].status).toBe('unknown');
    answer = true;
    const retried = await t.api.post('/api/send-message', body);
    expect(retried.status).toBe(200);
    expect(seen).toHaveLength(2);
    expect(seen[1]).toBe(seen[0]);
    expect(retried.body.provider_message_id).toBe(seen[0]);
  }, 60_000);

  it('no runner holding a connected connection is 503, not a lost message', async () => {
    const { t, id, pk } = await runningConnection();
    await database().update(connections).set({ status: 'connected', linkedAt: null, startRequestedAt: null }).where(eq(connections.id, pk));
    expectError(await t.api.post('/api/send-message', { connection_id: id, to: '923001234567', message: 'hi' }), 503, 'runner_unavailable');
  });
});
