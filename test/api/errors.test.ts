// Bad input of every kind gets a clear 4xx with the one error body, never a 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, closeDatabase, expectError, newTenant } from '../harness/api';
import type { ErrorBody } from '../../protocol/errors';

afterAll(closeDatabase);

describe('bad input', () => {
  let key: string;
  beforeAll(async () => {
    key = (await newTenant()).apiKey;
  });

  it.each(['{', '{"connection_id": "a",}', 'null', '[]', '"text"'])('body %j is refused with 400', async (body) => {
    const res = await call('POST', '/api/connections', { key, body });
    expect(res.status).toBe(400);
    expect(['invalid_json', 'validation_failed']).toContain(res.body.error.code);
  });

  it('malformed JSON is invalid_json', async () => {
    expectError(await call('POST', '/api/connections', { key, body: '{"connection_id": ' }), 400, 'invalid_json');
  });

  it('a body that is not JSON is refused', async () => {
    const res = await call('POST', '/api/connections', {
      key,
      body: 'connection_id=abc',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body.error.code).toMatch(/validation_failed|unsupported_media_type|bad_request/);
  });

  it('a missing body is refused', async () => {
    const res = await call('POST', '/api/connections', { key });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toMatch(/validation_failed|invalid_json/);
  });

  it('an oversized body is 413 payload_too_large', async () => {
    const res = await call('POST', '/api/connections', { key, body: { connection_id: 'c', webhook_url: `https://example.com/${'x'.repeat(200 * 1024)}` } });
    expectError(res, 413, 'payload_too_large');
    // send-message takes the base64 of MAX_MEDIA_BYTES on top of MAX_BODY_BYTES, and no more.
    const send = await call('POST', '/api/send-message', { key, body: { connection_id: 'c', to: '923001234567', message: 'x'.repeat(1024 * 1024) } });
    expectError(send, 413, 'payload_too_large');
  });

  it('an oversized body without Content-Length is still refused', async () => {
    const { baseUrl } = await import('../harness/api');
    const chunked = (path: string, text: string) =>
      fetch(`${baseUrl()}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(text));
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
    const big = 'x'.repeat(200 * 1024);
    const res = await chunked('/api/connections', `{"connection_id":"c","webhook_url":"https://example.com/${big}"}`);
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorBody).error.code).toBe('payload_too_large');
    const send = await chunked('/api/send-message', `{"connection_id":"c","to":"923001234567","message":"${'x'.repeat(1024 * 1024)}"}`);
    expect(send.status).toBe(413);
    expect(((await send.json()) as ErrorBody).error.code).toBe('payload_too_large');
  });

  it('an unknown API route is a JSON 404', async () => {
    expectError(await call('GET', '/api/nope', { key }), 404, 'not_found');
    expectError(await call('PUT', '/api/connections', { key, body: {} }), 404, 'not_found');
  });

  it('a connection id that cannot exist in a path is 400, not 500', async () => {
    expectError(await call('GET', `/api/connections/${'x'.repeat(200)}`, { key }), 400, 'validation_failed');
    expectError(await call('GET', '/api/connections/%E2%98%83', { key }), 400, 'validation_failed');
  });

  // Postgres cannot hold U+0000: before the edge refused it, GET /api/media/c/%00 was a 500 (found by fuzz.test.ts).
  it('the NUL character in a path, a query or a JSON string is 400, not 500', async () => {
    const created = await call('POST', '/api/connections', { key, body: { connection_id: 'nul-check' } });
    expect(created.status).toBe(201);
    for (const res of [
      await call('GET', '/api/media/nul-check/%00', { key }),
      await call('GET', '/api/media/nul-check/a%00b', { key }),
      await call('GET', '/api/messages/nul-check?chat_id=%00', { key }),
      await call('POST', '/api/connections', { key, body: { connection_id: 'nul-other', webhook_url: 'https://example.com/\u0000' } }),
      await call('POST', '/api/send-message', { key, body: { connection_id: 'nul-check', to: '923001234567', message: 'a\u0000b' } }),
    ]) {
      expectError(res, 400, 'validation_failed');
      expect(res.body.error.message).toContain('U+0000');
    }
    // An escaped backslash before "u0000" is plain text, not NUL.
    const literal = await call('GET', '/api/media/nul-check/%2500', { key });
    expect(literal.status).toBe(404);
  });
});

describe('API reference', () => {
  it('serves an OpenAPI 3.1 document describing every route', async () => {
    const res = await call('GET', '/api/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const paths = res.body.paths as Record<string, Record<string, unknown>>;
    const expected: [string, string][] = [
      ['/api/connections', 'post'],
      ['/api/connections', 'get'],
      ['/api/connections/{connection_id}', 'get'],
      ['/api/connections/{connection_id}', 'delete'],
      ['/api/connections/{connection_id}/webhook', 'patch'],
      ['/api/get-qr/{connection_id}', 'get'],
      ['/api/connections/{connection_id}/pairing-code', 'post'],
      ['/api/connections/{connection_id}/logout', 'post'],
      ['/api/connections/{connection_id}/restart', 'post'],
      ['/api/connections/{connection_id}/calls', 'put'],
      ['/api/connections/{connection_id}/calls', 'get'],
      ['/api/send-message', 'post'],
      ['/api/chats/{connection_id}', 'get'],
      ['/api/messages/{connection_id}/{chat_id}', 'get'],
      ['/api/messages/{connection_id}/{chat_id}/{message_id}', 'patch'],
      ['/api/messages/{connection_id}/{chat_id}/{message_id}', 'delete'],
      ['/api/chats/{connection_id}/{chat_id}/read', 'post'],
      ['/api/chats/{connection_id}/{chat_id}/presence', 'post'],
      ['/api/connections/{connection_id}/presence', 'post'],
      ['/api/connections/{connection_id}/check-numbers', 'post'],
      ['/api/groups/{connection_id}', 'post'],
      ['/api/groups/{connection_id}', 'get'],
      ['/api/groups/{connection_id}/{group_id}', 'get'],
      ['/api/groups/{connection_id}/{group_id}', 'patch'],
      ['/api/groups/{connection_id}/{group_id}/participants', 'post'],
      ['/api/groups/{connection_id}/{group_id}/invite-link', 'get'],
      ['/api/groups/{connection_id}/{group_id}/invite-link/revoke', 'post'],
      ['/api/groups/{connection_id}/{group_id}/leave', 'post'],
      ['/api/media/{connection_id}/{message_id}', 'get'],
      ['/api/contacts/{connection_id}', 'get'],
      ['/api/contacts/{connection_id}/{jid}/picture', 'get'],
      ['/api/webhook-logs/{connection_id}', 'get'],
      ['/api/webhook-logs/{id}/replay', 'post'],
      ['/api/connections/{connection_id}/webhook/rotate-secret', 'post'],
      ['/api/connections/{connection_id}/webhook/test', 'post'],
      ['/api/connections/{connection_id}/webhook/replay', 'post'],
      ['/api/realtime', 'get'],
      ['/api/realtime/ticket', 'post'],
      ['/api/keys', 'post'],
      ['/api/keys', 'get'],
      ['/api/keys/{id}', 'delete'],
      ['/api/auth/login', 'post'],
      ['/api/auth/logout', 'post'],
      ['/api/auth/me', 'get'],
      ['/api/auth/session', 'get'],
      ['/api/stats', 'get'],
      ['/api/sandbox', 'get'],
      ['/api/sandbox/phones', 'post'],
      ['/api/sandbox/phones/{phone}/scan', 'post'],
      ['/api/sandbox/phones/{phone}/pairing-code', 'post'],
      ['/api/sandbox/contacts', 'post'],
      ['/api/sandbox/contacts/{phone}/messages', 'post'],
      ['/api/sandbox/contacts/{phone}/inbox', 'get'],
      ['/api/sandbox/contacts/{phone}/receipts', 'post'],
    ];
    for (const [path, method] of expected) expect(paths[path]?.[method], `${method} ${path}`).toBeDefined();
    const described = Object.entries(paths).flatMap(([p, ms]) => Object.keys(ms).map((m) => `${m} ${p}`));
    expect(described.sort()).toEqual(expected.map(([p, m]) => `${m} ${p}`).sort());
    // What webhooks deliver is described too (OpenAPI 3.1 `webhooks`), one entry per event type.
    expect(Object.keys(res.body.webhooks ?? {}).sort()).toEqual(
      ['connection.status', 'message.received', 'message.sent', 'message.status', 'message.updated', 'message.deleted', 'qr.updated', 'call.received', 'test'].sort(),
    );
    expect(res.body.webhooks['message.received'].post.requestBody.content['application/json'].schema).toBeDefined();
    expect(res.body.components.schemas.Error).toBeDefined();
    expect(res.body.components.securitySchemes.bearerAuth).toBeDefined();
  });

  it('renders the reference at /api/docs', async () => {
    const res = await call('GET', '/api/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(String(res.body)).toContain('/api/openapi.json');
  });
});
