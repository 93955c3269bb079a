// Sending (validation and state checks), chats, message history and webhook logs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, expectError, newTenant, uniqueId } from '../harness/api';
import { connectionPk, seedChat, seedWebhookAttempts } from '../harness/seed';

afterAll(closeDatabase);

describe('send-message', () => {
  let t: Awaited<ReturnType<typeof newTenant>>;
  const id = uniqueId();
  beforeAll(async () => {
    t = await newTenant();
    await t.api.post('/api/connections', { connection_id: id });
  });

  it.each([
    ['an empty body', {}],
    ['no connection_id', { to: '923001234567', message: 'hi' }],
    ['no to', { connection_id: 'c', message: 'hi' }],
    ['no message', { connection_id: 'c', to: '923001234567' }],
    ['an empty message', { connection_id: 'c', to: '923001234567', message: '' }],
    ['a message over 65536 characters', { connection_id: 'c', to: '923001234567', message: 'x'.repeat(65_537) }],
    ['a numeric to', { connection_id: 'c', to: 923001234567, message: 'hi' }],
    ['a client_message_id with a space', { connection_id: 'c', to: '923001234567', message: 'hi', client_message_id: 'has space' }],
    ['an unknown field', { connection_id: 'c', to: '923001234567', message: 'hi', priority: 'high' }],
    ['media that is not an object', { connection_id: 'c', to: '923001234567', message: 'hi', media: 'x' }],
  ])('refuses %s with 400', async (_label, body) => {
    expectError(await t.api.post('/api/send-message', body), 400, 'validation_failed');
  });

  it.each(['12345', 'abc', '+0 300 123', 'someone@example.com'])('refuses recipient %j', async (to) => {
    expectError(await t.api.post('/api/send-message', { connection_id: id, to, message: 'hi' }), 400, 'invalid_recipient');
  });

  it('is 404 for an unknown connection', async () => {
    expectError(
      await t.api.post('/api/send-message', { connection_id: `missing-${id}`, to: '923001234567', message: 'hi' }),
      404,
      'connection_not_found',
    );
  });

  it('is 409 connection_not_connected while the connection is not linked', async () => {
    const res = await t.api.post('/api/send-message', {
      connection_id: id,
      to: '+923001234567',
      message: 'Hello from WhatsApp API!',
      client_message_id: 'unique-client-id-001',
    });
    expectError(res, 409, 'connection_not_connected');
  });
});

describe('chats and messages', () => {
  let t: Awaited<ReturnType<typeof newTenant>>;
  const id = uniqueId();
  const chatA = '923001234567@s.whatsapp.net';
  const chatB = '923009999999@s.whatsapp.net';
  beforeAll(async () => {
    t = await newTenant();
    await t.api.post('/api/connections', { connection_id: id });
    const pk = await connectionPk(id, t.tenantId);
    await seedChat(pk, chatA, 7, Date.UTC(2026, 0, 1));
    await seedChat(pk, chatB, 2, Date.UTC(2026, 0, 2));
  });

  it('lists chats most recent first with last message and unread count', async () => {
    const res = await t.api.get(`/api/chats/${id}`);
    expect(res.status).toBe(200);
    expect(res.body.map((c: any) => c.chat_id)).toEqual([chatB, chatA]);
    expect(res.body[1]).toMatchObject({ chat_id: chatA, last_message: 'message 6', unread_count: 4 });
    const page = await t.api.get(`/api/chats/${id}?limit=1`);
    expect(page.body.map((c: any) => c.chat_id)).toEqual([chatB]);
    const next = await t.api.get(`/api/chats/${id}?limit=1&before=${page.headers.get('x-next-cursor')}`);
    expect(next.body.map((c: any) => c.chat_id)).toEqual([chatA]);
  });

  it('returns the newest messages first, `limit` of them, with a cursor to older ones', async () => {
    const res = await t.api.get(`/api/messages/${id}/${chatA}?limit=3`);
    expect(res.status).toBe(200);
    expect(res.body.map((m: any) => m.message)).toEqual(['message 6', 'message 5', 'message 4']);
    expect(res.body[0]).toMatchObject({
      connection_id: id,
      chat_id: chatA,
      direction: 'inbound',
      from: chatA,
      provider_message_id: `PMID-${chatA}-6`,
      status: 'received',
    });
    const older = await t.api.get(`/api/messages/${id}/${chatA}?limit=3&before=${res.headers.get('x-next-cursor')}`);
    expect(older.body.map((m: any) => m.message)).toEqual(['message 3', 'message 2', 'message 1']);
    const oldest = await t.api.get(`/api/messages/${id}/${chatA}?limit=3&before=${older.headers.get('x-next-cursor')}`);
    expect(oldest.body.map((m: any) => m.message)).toEqual(['message 0']);
    expect(oldest.headers.get('x-next-cursor')).toBeNull();
  });

  it('defaults to 50 and accepts a phone number as chat_id', async () => {
    const res = await t.api.get(`/api/messages/${id}/923001234567`);
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(7);
    expect((await t.api.get(`/api/messages/${id}/923000000000`)).body).toEqual([]);
  });

  it('refuses bad limits and chat ids, and unknown connections', async () => {
    expectError(await t.api.get(`/api/messages/${id}/${chatA}?limit=501`), 400, 'validation_failed');
    expectError(await t.api.get(`/api/messages/${id}/not-a-jid`), 400, 'validation_failed');
    expectError(await t.api.get(`/api/messages/missing-${id}/${chatA}`), 404, 'connection_not_found');
    expectError(await t.api.get(`/api/chats/missing-${id}`), 404, 'connection_not_found');
  });
});

describe('webhook logs', () => {
  it('lists delivery attempts newest first, `limit` of them', async () => {
    const t = await newTenant();
    const id = uniqueId();
    await t.api.post('/api/connections', { connection_id: id });
    expect((await t.api.get(`/api/webhook-logs/${id}`)).body).toEqual([]);
    await seedWebhookAttempts(await connectionPk(id, t.tenantId), t.tenantId, 5);
    const res = await t.api.get(`/api/webhook-logs/${id}?limit=2`);
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(2);
    expect(res.body[0]).toMatchObject({ connection_id: id, attempt: 1, state: 'delivered', status_code: 200, duration_ms: 14 });
    const rest = await t.api.get(`/api/webhook-logs/${id}?limit=100&before=${res.headers.get('x-next-cursor')}`);
    expect(rest.body).toHaveLength(3);
    expect(rest.body[2]).toMatchObject({ state: 'failed', status_code: 500, error: 'HTTP 500' });
    expectError(await t.api.get(`/api/webhook-logs/missing-${id}`), 404, 'connection_not_found');
  });
});
