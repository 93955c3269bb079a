import { afterAll, describe, expect, it } from 'vitest';
import { closeDatabase, newTenant, uniqueId } from '../harness/api';

afterAll(closeDatabase);

describe('smoke', () => {
  it('creates and lists a connection', async () => {
    const t = await newTenant();
    const id = uniqueId();
    const created = await t.api.post('/api/connections', { connection_id: id });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const list = await t.api.get('/api/connections');
    expect(list.body.map((c: any) => c.connection_id)).toEqual([id]);
  });
});
