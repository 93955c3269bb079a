// The Scheduler's Postgres side: which connections should run, and grants mirrored for fencing.
import { randomUUID } from 'node:crypto';
import { eq, inArray } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { connections, tenants } from '../../drizzle/schema';
import { useFileDatabase } from '../../test/harness/file-database';
import { httpDb, type Db } from '../data/db';
import { shardOf } from '../../protocol/shards';
import { desiredConnections, recordLeases } from './desired';

const fileDb = useFileDatabase('scheduler_desired');
let db: Db;
beforeAll(() => {
  db = httpDb({ DATABASE_URL: fileDb.url, NEON_WS_PROXY: fileDb.proxy });
});

async function linkedConnections(n: number, leaseEpoch = 0) {
  const [tenant] = await fileDb.db.insert(tenants).values({ name: 'acme' }).returning();
  const rows = await fileDb.db
    .insert(connections)
    .values(Array.from({ length: n }, () => ({ tenantId: tenant!.id, connectionId: `c-${randomUUID()}`, webhookSecret: 'whsec_x', status: 'connected' as const, linkedAt: new Date(), leaseEpoch })))
    .returning();
  return rows.map((r) => r.id);
}

describe('recordLeases', () => {
  it('records many grants in one go, more than one statement holds', async () => {
    const pks = await linkedConnections(520);
    const recorded = await recordLeases(db, pks.map((pk, i) => ({ connectionPk: pk, runnerId: `r${i % 3}`, epoch: 1 })));
    expect(recorded.size).toBe(520);
    const rows = await fileDb.db.select().from(connections).where(inArray(connections.id, pks));
    expect(rows.every((r) => r.leaseEpoch === 1)).toBe(true);
    expect(rows.find((r) => r.id === pks[4])!.leaseRunnerId).toBe('r1');
    expect((await desiredConnections(db)).filter((d) => pks.includes(d.connectionPk))).toHaveLength(520);
  });

  it('only raises an epoch: a grant that raced with a newer one, or with a fence at the same epoch, is not recorded', async () => {
    const [older, same, higher] = await linkedConnections(3, 5);
    const recorded = await recordLeases(db, [
      { connectionPk: older!, runnerId: 'a', epoch: 4 },
      // Computed from epoch 4 while a logout raised it to 5: it must not take the fenced epoch.
      { connectionPk: same!, runnerId: 'b', epoch: 5 },
      { connectionPk: higher!, runnerId: 'c', epoch: 6 },
    ]);
    expect([...recorded]).toEqual([higher]);
    expect((await fileDb.db.select().from(connections).where(eq(connections.id, older!)))[0]).toMatchObject({ leaseEpoch: 5, leaseRunnerId: null });
    expect((await fileDb.db.select().from(connections).where(eq(connections.id, same!)))[0]).toMatchObject({ leaseEpoch: 5, leaseRunnerId: null });
    expect((await fileDb.db.select().from(connections).where(eq(connections.id, higher!)))[0]).toMatchObject({ leaseEpoch: 6, leaseRunnerId: 'c' });
  });
});

describe('desiredConnections by shard', () => {
  it('gives each shard exactly the connections protocol/shards.ts assigns it, and all of them between the shards', async () => {
    const pks = await linkedConnections(60);
    const shards = 3;
    const seen = new Set<string>();
    for (let shard = 0; shard < shards; shard++) {
      const mine = (await desiredConnections(db, { shard, shards })).map((d) => d.connectionPk).filter((pk) => pks.includes(pk));
      // 60 random UUIDs over 3 shards: an empty shard would mean the rule is not applied (odds ~1e-10).
      expect(mine.length).toBeGreaterThan(0);
      for (const pk of mine) {
        expect(shardOf(pk, shards)).toBe(shard);
        seen.add(pk);
      }
    }
    expect(seen.size).toBe(60);
  });
});
