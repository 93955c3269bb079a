// A sharded Scheduler (SCHEDULER_SHARDS=2) as users meet it: connections that fall in either shard link,
// receive and send; each runner links to both shards; a tenant's sends per minute hold across shards; and
// when a runner dies, the connections of both shards move to the other one without a QR.
import { eq } from 'drizzle-orm';
import { afterAll, expect, it } from 'vitest';
import { connections, tenantLimits } from '../../drizzle/schema';
import { shardOf } from '../../protocol/shards';
import { freePort } from '../../scripts/lib/ports';
import type { RunnerProcess } from '../../scripts/lib/runner-process';
import { closeDatabase, database, newTenant, uniqueId } from '../harness/api';
import { apiAt, ownControlPlane, ownDataDir, ownRunner, stopOwn } from '../harness/own-stack';
import { eventually, phone, phoneNumber } from '../harness/whatsapp';

const SHARDS = 2;

afterAll(async () => {
  await stopOwn();
  await closeDatabase();
});

/** Whether the runner's link to every shard is up, as its /metrics says. */
async function linkedToEveryShard(runner: RunnerProcess): Promise<boolean> {
  const metrics = await fetch(`${runner.httpUrl}/metrics`).then((r) => r.text());
  return Array.from({ length: SHARDS }, (_, shard) => metrics.includes(`runner_link_up{shard="${shard}"} 1`)).every(Boolean);
}

it('connections of both shards link, receive, send, keep one send quota, and move together when their runner dies', async () => {
  const stack = await ownControlPlane(await ownDataDir('shards'), await freePort(), { SCHEDULER_SHARDS: String(SHARDS) });
  const runners = [await ownRunner(stack.url, uniqueId('shard-a')), await ownRunner(stack.url, uniqueId('shard-b'))];
  for (const r of runners) await eventually(() => linkedToEveryShard(r), `${r.id} to link to both shards`);

  const t = await newTenant('shards');
  const api = apiAt(() => stack.url, t.apiKey);
  const contact = phoneNumber();
  await phone('POST', '/contacts', { phone: contact, name: 'Shard contact' });

  // Connections until both shards own one (each new one is in either with even odds).
  const linked: { id: string; number: string; shard: number }[] = [];
  while (new Set(linked.map((l) => l.shard)).size < SHARDS || linked.length < 3) {
    expect(linked.length, 'ten connections all in one shard: the shard rule is not spreading them').toBeLessThan(10);
    const id = uniqueId('shard');
    const number = phoneNumber();
    await phone('POST', '/accounts', { phone: number, name: `Shard ${linked.length}` });
    expect((await api('POST', '/api/connections', { connection_id: id })).status).toBe(201);
    const qr = await eventually(async () => {
      const res = await api('GET', `/api/get-qr/${id}?wait=10`);
      return res.body.qr_raw ? res.body : undefined;
    }, `a QR for ${id}`);
    await phone('POST', `/accounts/${number}/scan`, { qr: qr.qr_raw });
    await eventually(async () => (await api('GET', `/api/connections/${id}`)).body.status === 'connected', `${id} connected`);
    const [row] = await database().select({ pk: connections.id }).from(connections).where(eq(connections.connectionId, id));
    linked.push({ id, number, shard: shardOf(row!.pk, SHARDS) });
  }

  const inbox = (): Promise<{ text?: string }[]> => phone('GET', `/contacts/${contact}/inbox`);
  const received = (id: string, text: string) =>
    eventually(async () => ((await api('GET', `/api/messages/${id}/${contact}`)).body as any[]).some((m) => m.message === text), `"${text}" stored`, 60_000);
  for (const l of linked) {
    await phone('POST', `/contacts/${contact}/messages`, { to: l.number, text: `in ${l.id}` });
    await received(l.id, `in ${l.id}`);
    const sent = await api('POST', '/api/send-message', { connection_id: l.id, to: contact, message: `out ${l.id}` });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
  }
  await eventually(async () => (await inbox()).filter((m) => m.text?.startsWith('out shard-')).length >= linked.length, 'every send delivered');

  // One minute's sends for the whole tenant, not per shard: two go out (one per shard), the third is refused
  // whichever shard it goes to (a per-shard count would let a shard's second send through).
  await database().insert(tenantLimits).values({ tenantId: t.tenantId, sendsPerMinute: 2 });
  const byShard = Array.from({ length: SHARDS }, (_, shard) => linked.find((l) => l.shard === shard)!);
  for (const l of byShard) expect((await api('POST', '/api/send-message', { connection_id: l.id, to: contact, message: `quota ${l.id}` })).status).toBe(200);
  const over = await api('POST', '/api/send-message', { connection_id: byShard[1]!.id, to: contact, message: 'quota over' });
  expect(over.status, JSON.stringify(over.body)).toBe(429);
  expect(over.body.error.code).toBe('send_quota_exceeded');
  await database().delete(tenantLimits).where(eq(tenantLimits.tenantId, t.tenantId));

  // The runner holding the most connections dies; every one of them, whichever its shard, moves over.
  const holders = await database().select({ id: connections.connectionId, runner: connections.leaseRunnerId }).from(connections).where(eq(connections.tenantId, t.tenantId));
  const count = (r: RunnerProcess) => holders.filter((h) => h.runner === r.id).length;
  const [victim, survivor] = count(runners[0]!) >= count(runners[1]!) ? [runners[0]!, runners[1]!] : [runners[1]!, runners[0]!];
  const moved = holders.filter((h) => h.runner === victim.id).map((h) => h.id);
  expect(moved.length).toBeGreaterThan(0);
  victim.kill('SIGKILL');
  await victim.exited;
  await eventually(async () => {
    const rows = await database().select({ runner: connections.leaseRunnerId }).from(connections).where(eq(connections.tenantId, t.tenantId));
    return rows.every((r) => r.runner === survivor.id);
  }, `every lease on ${survivor.id}`, 60_000);
  for (const l of linked) {
    await eventually(async () => (await api('GET', `/api/connections/${l.id}`)).body.status === 'connected', `${l.id} connected again`, 60_000);
    expect((await api('GET', `/api/get-qr/${l.id}?wait=0`)).body.qr).toBeNull();
    await phone('POST', `/contacts/${contact}/messages`, { to: l.number, text: `after ${l.id}` });
    await received(l.id, `after ${l.id}`);
  }
}, 240_000);
