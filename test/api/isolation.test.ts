// A tenant can never read, change or even learn of another tenant's connections, data or keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, expectError, newTenant, uniqueId } from '../harness/api';
import { connectionPk, seedChat, seedWebhookAttempts } from '../harness/seed';

afterAll(closeDatabase);

describe('tenant isolation', () => {
  let owner: Awaited<ReturnType<typeof newTenant>>;
  let other: Awaited<ReturnType<typeof newTenant>>;
  const id = uniqueId('private');
  const chat = '923001234567@s.whatsapp.net';
  let ownerKeyId: string;

  beforeAll(async () => {
    owner = await newTenant('owner');
    other = await newTenant('other');
    await owner.api.post('/api/connections', { connection_id: id, webhook_url: 'https://owner.example.com/hook' });
    const pk = await connectionPk(id, owner.tenantId);
    await seedChat(pk, chat, 3);
    await seedWebhookAttempts(pk, owner.tenantId, 2);
    ownerKeyId = (await owner.api.get('/api/keys')).body[0].id;
  });

  it.each([
    ['GET', `/api/connections/{id}`],
    ['PATCH', `/api/connections/{id}/webhook`],
    ['DELETE', `/api/connections/{id}`],
    ['GET', `/api/get-qr/{id}?wait=0`],
    ['POST', `/api/connections/{id}/restart`],
    ['POST', `/api/connections/{id}/logout`],
    ['GET', `/api/chats/{id}`],
    ['GET', `/api/messages/{id}/${chat}`],
    ['GET', `/api/webhook-logs/{id}`],
  ])("%s %s on another tenant's connection is 404, exactly as for a missing one", async (method, template) => {
    const path = template.replace('{id}', id);
    const body = method === 'PATCH' ? { webhook_url: 'https://attacker.example.com/' } : undefined;
    const call =
      method === 'GET' ? other.api.get(path) : method === 'DELETE' ? other.api.delete(path) : method === 'POST' ? other.api.post(path) : other.api.patch(path, body);
    const res = await call;
    expectError(res, 404, 'connection_not_found');
    const missing = path.replace(id, `${id}-missing`);
    const ref =
      method === 'GET' ? other.api.get(missing) : method === 'DELETE' ? other.api.delete(missing) : method === 'POST' ? other.api.post(missing) : other.api.patch(missing, body);
    expect((await ref).body.error.message).toBe(res.body.error.message.replace(id, `${id}-missing`));
  });

  it("asking for a pairing code on another tenant's connection is 404", async () => {
    expectError(await other.api.post(`/api/connections/${id}/pairing-code`, { phone_number: '923001234567' }), 404, 'connection_not_found');
  });

  it("sending through another tenant's connection is 404", async () => {
    expectError(await other.api.post('/api/send-message', { connection_id: id, to: '923001234567', message: 'hi' }), 404, 'connection_not_found');
  });

  it("another tenant's list shows none of the owner's connections", async () => {
    const list = await other.api.get('/api/connections');
    expect(list.body.map((c: any) => c.connection_id)).not.toContain(id);
  });

  it("another tenant cannot revoke or see the owner's API keys", async () => {
    expectError(await other.api.delete(`/api/keys/${ownerKeyId}`), 404, 'api_key_not_found');
    expect((await other.api.get('/api/keys')).body.map((k: any) => k.id)).not.toContain(ownerKeyId);
    expect((await owner.api.get('/api/connections')).status).toBe(200);
  });

  it("the owner's connection and data are untouched by all of the above", async () => {
    const got = await owner.api.get(`/api/connections/${id}`);
    expect(got.status).toBe(200);
    expect(got.body.webhook_url).toBe('https://owner.example.com/hook');
    expect((await owner.api.get(`/api/messages/${id}/${chat}`)).body).toHaveLength(3);
    expect((await owner.api.get(`/api/webhook-logs/${id}`)).body).toHaveLength(2);
  });

  it('the same connection_id in two tenants names two separate connections', async () => {
    expect((await other.api.post('/api/connections', { connection_id: id })).status).toBe(201);
    expect((await other.api.get(`/api/chats/${id}`)).body).toEqual([]);
    expect((await other.api.delete(`/api/connections/${id}`)).status).toBe(200);
    expect((await owner.api.get(`/api/connections/${id}`)).status).toBe(200);
    expect((await owner.api.get(`/api/chats/${id}`)).body).toHaveLength(1);
  });
});
