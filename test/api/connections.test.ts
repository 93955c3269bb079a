// The seed's connection endpoints, used as a tenant would use them.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { connections } from '../../drizzle/schema';
import { closeDatabase, database, expectError, newTenant, uniqueId } from '../harness/api';
import { HOSTILE_URLS } from '../harness/hostile-urls';

afterAll(closeDatabase);

describe('connections', () => {
  it('creates a connection with a webhook and returns its signing secret once', async () => {
    const t = await newTenant();
    const id = uniqueId('user');
    const res = await t.api.post('/api/connections', { connection_id: id, webhook_url: 'https://api.example.com/webhook' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      connection_id: id,
      status: 'disconnected',
      phone_number: null,
      webhook_url: 'https://api.example.com/webhook',
    });
    expect(res.body.webhook_secret).toMatch(/^whsec_/);

    const got = await t.api.get(`/api/connections/${id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ connection_id: id, webhook_url: 'https://api.example.com/webhook' });
    expect(got.body).not.toHaveProperty('webhook_secret');
  });

  it('refuses a duplicate connection_id within a tenant but not across tenants', async () => {
    const a = await newTenant();
    const b = await newTenant();
    const id = uniqueId();
    expect((await a.api.post('/api/connections', { connection_id: id })).status).toBe(201);
    expectError(await a.api.post('/api/connections', { connection_id: id }), 409, 'connection_exists');
    expect((await b.api.post('/api/connections', { connection_id: id })).status).toBe(201);
  });

  it.each([
    ['a missing connection_id', {}],
    ['an empty connection_id', { connection_id: '' }],
    ['a connection_id with a space', { connection_id: 'has space' }],
    ['a connection_id with a slash', { connection_id: 'a/b' }],
    ['a connection_id over 128 characters', { connection_id: 'x'.repeat(129) }],
    ['a numeric connection_id', { connection_id: 42 }],
    ['an unknown field', { connection_id: 'ok', extra: true }],
    ['a numeric webhook_url', { connection_id: 'ok', webhook_url: 5 }],
  ])('refuses %s with 400 validation_failed', async (_label, body) => {
    const t = await newTenant();
    const res = await t.api.post('/api/connections', body);
    expectError(res, 400, 'validation_failed');
    expect(Array.isArray(res.body.error.details.issues)).toBe(true);
  });

  it.each([
    'http://127.0.0.1:8080/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://localhost/hook',
    'http://[::1]/hook',
    'http://10.0.0.5/hook',
    'http://2130706433/hook',
    'ftp://example.com/hook',
    'not a url',
  ])('refuses webhook URL %s on create and on update', async (url) => {
    const t = await newTenant();
    const id = uniqueId();
    expectError(await t.api.post('/api/connections', { connection_id: id, webhook_url: url }), 400, 'invalid_webhook_url');
    expect((await t.api.get(`/api/connections/${id}`)).status).toBe(404);
    expect((await t.api.post('/api/connections', { connection_id: id })).status).toBe(201);
    expectError(await t.api.patch(`/api/connections/${id}/webhook`, { webhook_url: url }), 400, 'invalid_webhook_url');
  });

  it('refuses every hostile form of webhook URL with 400 invalid_webhook_url, saying which rule', async () => {
    const t = await newTenant();
    const id = uniqueId();
    expect((await t.api.post('/api/connections', { connection_id: id })).status).toBe(201);
    for (const [url, reason] of HOSTILE_URLS) {
      const created = await t.api.post('/api/connections', { connection_id: uniqueId(), webhook_url: url });
      expectError(created, 400, 'invalid_webhook_url');
      expect(created.body.error.details, url).toEqual({ reason });
      expectError(await t.api.patch(`/api/connections/${id}/webhook`, { webhook_url: url }), 400, 'invalid_webhook_url');
    }
    expect((await t.api.get(`/api/connections/${id}`)).body.webhook_url).toBeNull();
  });

  it('does not take the media sources the operator allowed for webhook targets', async () => {
    const t = await newTenant();
    const res = await t.api.post('/api/connections', { connection_id: uniqueId(), webhook_url: `http://127.0.0.1:${inject('mediaServerPort')}/hook` });
    expectError(res, 400, 'invalid_webhook_url');
    expect(res.body.error.details).toEqual({ reason: 'private_address' });
  });

  it('sets, changes and removes the webhook URL', async () => {
    const t = await newTenant();
    const id = uniqueId();
    await t.api.post('/api/connections', { connection_id: id });
    const set = await t.api.patch(`/api/connections/${id}/webhook`, { webhook_url: 'https://hooks.example.org/in' });
    expect(set.status).toBe(200);
    expect(set.body.webhook_url).toBe('https://hooks.example.org/in');
    const cleared = await t.api.patch(`/api/connections/${id}/webhook`, { webhook_url: null });
    expect(cleared.body.webhook_url).toBeNull();
    expect((await t.api.get(`/api/connections/${id}`)).body.webhook_url).toBeNull();
    expectError(await t.api.patch(`/api/connections/${id}/webhook`, {}), 400, 'validation_failed');
    expectError(await t.api.patch(`/api/connections/nope-${id}/webhook`, { webhook_url: null }), 404, 'connection_not_found');
  });

  it('lists newest first and pages with X-Next-Cursor / Link', async () => {
    const t = await newTenant();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = `page-${i}`;
      ids.push(id);
      expect((await t.api.post('/api/connections', { connection_id: id })).status).toBe(201);
    }
    const all = await t.api.get('/api/connections');
    expect(all.body.map((c: any) => c.connection_id)).toEqual([...ids].reverse());
    expect(all.headers.get('x-next-cursor')).toBeNull();

    const seen: string[] = [];
    let path = '/api/connections?limit=2';
    for (let page = 0; page < 5 && path; page++) {
      const res = await t.api.get(path);
      expect(res.status).toBe(200);
      seen.push(...res.body.map((c: any) => c.connection_id));
      const link = res.headers.get('link');
      path = link ? /<([^>]+)>; rel="next"/.exec(link)![1]! : '';
      if (path) expect(path).toContain(`before=${res.headers.get('x-next-cursor')}`);
    }
    expect(seen).toEqual([...ids].reverse());
    expectError(await t.api.get('/api/connections?before=garbage!'), 400, 'validation_failed');
    expectError(await t.api.get('/api/connections?limit=0'), 400, 'validation_failed');
    expectError(await t.api.get('/api/connections?limit=abc'), 400, 'validation_failed');
  });

  it('deletes a connection, after which it is gone and its id is free again', async () => {
    const t = await newTenant();
    const id = uniqueId();
    await t.api.post('/api/connections', { connection_id: id });
    const del = await t.api.delete(`/api/connections/${id}`);
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ connection_id: id, deleted: true });
    expectError(await t.api.get(`/api/connections/${id}`), 404, 'connection_not_found');
    expectError(await t.api.delete(`/api/connections/${id}`), 404, 'connection_not_found');
    expect((await t.api.post('/api/connections', { connection_id: id })).status).toBe(201);
  });

  it('get-qr answers the seed body with no QR while no runner has produced one', async () => {
    const t = await newTenant();
    const id = uniqueId();
    await t.api.post('/api/connections', { connection_id: id });
    const res = await t.api.get(`/api/get-qr/${id}?wait=0`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ qr: null, qr_raw: null, expires_at: null, connection_id: id, status: 'disconnected', status_reason: null });
    expectError(await t.api.get(`/api/get-qr/missing-${id}`), 404, 'connection_not_found');
    expectError(await t.api.get(`/api/get-qr/${id}?wait=26`), 400, 'validation_failed');
  });

  it('get-qr renders the waiting QR as a PNG data URL', async () => {
    const t = await newTenant();
    const id = uniqueId();
    await t.api.post('/api/connections', { connection_id: id });
    const qrRaw = '2@abcdefghijklmnop,noiseKeyB64=,identityKeyB64=,advSecretB64=,1';
    const expires = new Date(Date.now() + 20_000);
    // What a runner reports through the events pipeline once it starts the session.
    await database()
      .update(connections)
      .set({ status: 'connecting', qrRaw, qrExpiresAt: expires })
      .where(eq(connections.connectionId, id));
    const res = await t.api.get(`/api/get-qr/${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ connection_id: id, status: 'connecting', qr_raw: qrRaw, expires_at: expires.toISOString() });
    expect(res.body.qr).toMatch(/^data:image\/png;base64,/);
    const png = Buffer.from(res.body.qr.split(',')[1], 'base64');
    expect(png.subarray(1, 4).toString()).toBe('PNG');

    // An expired QR is not offered.
    await database().update(connections).set({ qrExpiresAt: new Date(Date.now() - 1000) }).where(eq(connections.connectionId, id));
    expect((await t.api.get(`/api/get-qr/${id}?wait=0`)).body.qr).toBeNull();
  });
});
