// The outbox rows' life against a real Postgres, through the Worker's own driver (Neon HTTP, via the
// local proxy): one attempt at a time, duplicates and early queue messages do nothing, the sweep finds
// what the queue lost, the dead-letter consumer never kills a delivery with retries left.
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { connections, tenants, webhookDeliveries, webhookLogs } from '../../drizzle/schema';
import type { NodeDb } from '../../scripts/lib/database';
import { useFileDatabase } from '../../test/harness/file-database';
import { claimDeliveries, forgetOld, recordAttempts, reopenDeliveries, settleDeadLetter, takeOverdue, webhookIdOf } from './deliveries';

const claimDelivery = async (db: Db, id: string) => (await claimDeliveries(db, [id]))[0];
const recordAttempt = (db: Db, a: Parameters<typeof recordAttempts>[1][number]) => recordAttempts(db, [a]);
import { httpDb, type Db } from './db';

const fileDb = useFileDatabase('deliveries');
let db: NodeDb;
let http: Db;
beforeAll(() => {
  db = fileDb.db;
  http = httpDb({ DATABASE_URL: fileDb.url, NEON_WS_PROXY: fileDb.proxy });
});

async function newDelivery(extra: Partial<typeof webhookDeliveries.$inferInsert> = {}) {
  const [tenant] = await db.insert(tenants).values({ name: 'acme' }).returning();
  const [conn] = await db
    .insert(connections)
    .values({ tenantId: tenant!.id, connectionId: `c-${randomUUID().slice(0, 8)}`, webhookSecret: 'whsec_dGVzdA==', webhookUrl: 'https://hooks.example.com/in' })
    .returning();
  const id = randomUUID();
  await db.insert(webhookDeliveries).values({
    id,
    tenantId: tenant!.id,
    connectionPk: conn!.id,
    eventType: 'connection.status',
    eventKey: `connection.status:${id}`,
    data: { status: 'connected' },
    sequence: 1,
    ...extra,
  });
  return { id, tenantId: tenant!.id, connectionPk: conn!.id };
}

const rowOf = async (id: string) => (await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id)))[0]!;

describe('webhook deliveries', () => {
  it('one attempt holds a delivery at a time; a duplicate queue message finds nothing to do', async () => {
    const d = await newDelivery();
    const [a, b] = await Promise.all([claimDelivery(http, d.id), claimDelivery(http, d.id)]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    const claimed = (a ?? b)!;
    expect(claimed).toMatchObject({ attempt: 1, roundAttempt: 1, eventType: 'connection.status', webhookUrl: 'https://hooks.example.com/in', storedSecrets: ['whsec_dGVzdA=='] });
    await recordAttempt(http, { delivery: claimed, payload: '{"a":1}', url: 'https://hooks.example.com/in', state: 'retrying', statusCode: 500, durationMs: 3, error: 'boom', responseExcerpt: 'no', nextAttemptAt: new Date(Date.now() + 60_000) });
    // Not due for a minute: a message that comes early (a duplicate) leaves it alone.
    expect(await claimDelivery(http, d.id)).toBeUndefined();
    const row = await rowOf(d.id);
    expect(row).toMatchObject({ state: 'retrying', attempts: 1, payload: '{"a":1}', lastStatusCode: 500, claimedUntil: null });
    const [log] = await db.select().from(webhookLogs).where(eq(webhookLogs.deliveryId, d.id));
    expect(log).toMatchObject({ eventId: webhookIdOf(d.id), attempt: 1, state: 'retrying', statusCode: 500, responseExcerpt: 'no' });
  });

  it('a batch is claimed and recorded in one statement each', async () => {
    const [a, b, done] = [await newDelivery(), await newDelivery(), await newDelivery({ state: 'delivered' })];
    const claimed = await claimDeliveries(http, [a.id, b.id, done.id]);
    expect(claimed.map((d) => d.id).sort()).toEqual([a.id, b.id].sort());
    await recordAttempts(
      http,
      claimed.map((d, i) => ({ delivery: d, payload: `{"n":${i}}`, url: 'u', state: 'delivered' as const, statusCode: 200, durationMs: 1, error: null, responseExcerpt: null })),
    );
    expect((await rowOf(a.id)).state).toBe('delivered');
    expect((await rowOf(b.id)).state).toBe('delivered');
    expect(await db.select().from(webhookLogs).where(eq(webhookLogs.deliveryId, b.id))).toHaveLength(1);
  });

  it('a delivered one is never attempted again', async () => {
    const d = await newDelivery();
    const claimed = (await claimDelivery(http, d.id))!;
    await recordAttempt(http, { delivery: claimed, payload: '{}', url: 'u', state: 'delivered', statusCode: 200, durationMs: 1, error: null, responseExcerpt: null });
    expect(await claimDelivery(http, d.id)).toBeUndefined();
    expect((await rowOf(d.id)).deliveredAt).not.toBeNull();
  });

  it('the sweep takes what is overdue and not held, once per lateness window', async () => {
    const overdue = await newDelivery({ nextAttemptAt: new Date(Date.now() - 120_000) });
    const fresh = await newDelivery();
    const held = await newDelivery({ nextAttemptAt: new Date(Date.now() - 120_000), claimedUntil: new Date(Date.now() + 60_000) });
    const taken = await takeOverdue(http, 60, 1000);
    expect(taken).toContain(overdue.id);
    expect(taken).not.toContain(fresh.id);
    expect(taken).not.toContain(held.id);
    expect(await takeOverdue(http, 60, 1000)).not.toContain(overdue.id); // its due time moved to now
  });

  it('the dead-letter consumer kills only a delivery whose schedule is spent; others go back to pending', async () => {
    const spent = await newDelivery({ state: 'retrying', roundAttempts: 4 });
    const early = await newDelivery({ state: 'retrying', roundAttempts: 1 });
    const done = await newDelivery({ state: 'delivered', roundAttempts: 1 });
    expect(await settleDeadLetter(http, spent.id, 3)).toBe('dead');
    expect(await settleDeadLetter(http, early.id, 3)).toBe('requeue');
    expect(await settleDeadLetter(http, done.id, 3)).toBe('done');
    expect((await rowOf(spent.id)).state).toBe('dead');
    expect((await rowOf(early.id)).state).toBe('pending');
    expect((await rowOf(done.id)).state).toBe('delivered');
  });

  it("a replay reopens dead and failed deliveries of the tenant's connection only, with a fresh schedule", async () => {
    const dead = await newDelivery({ state: 'dead', roundAttempts: 4, attempts: 4 });
    const stranger = await newDelivery({ state: 'dead' });
    const ids = await reopenDeliveries(http, { tenantId: dead.tenantId, connectionPk: dead.connectionPk, since: new Date(0), states: ['dead', 'failed'] });
    expect(ids).toEqual([dead.id]);
    expect(await rowOf(dead.id)).toMatchObject({ state: 'pending', roundAttempts: 0, attempts: 4 });
    expect((await rowOf(stranger.id)).state).toBe('dead');
    // Another tenant naming this connection reopens nothing.
    expect(await reopenDeliveries(http, { tenantId: stranger.tenantId, connectionPk: dead.connectionPk, deliveryId: dead.id })).toEqual([]);
  });

  it('forgets finished deliveries and log rows past the retention, and keeps the rest', async () => {
    const old = new Date(Date.now() - 40 * 86_400_000);
    const finished = await newDelivery({ state: 'delivered', updatedAt: old });
    const pending = await newDelivery({ state: 'pending', updatedAt: old });
    const recent = await newDelivery({ state: 'dead' });
    await forgetOld(http, 30, 1000);
    expect(await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, finished.id))).toEqual([]);
    expect((await rowOf(pending.id)).state).toBe('pending');
    expect((await rowOf(recent.id)).state).toBe('dead');
  });
});
