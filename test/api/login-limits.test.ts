// Password guessing is bounded: login attempts are counted per client IP and per email address (each a
// Durable Object bucket, so the count holds across Worker isolates), and past either limit the answer is
// 429 rate_limited with Retry-After, before any password is checked. The IPs here are documentation
// addresses sent as CF-Connecting-IP, which Cloudflare sets itself in production.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { call, closeDatabase, expectError, newTenant } from '../harness/api';

afterAll(closeDatabase);

const login = (email: string, password: string, ip: string) =>
  call('POST', '/api/auth/login', { body: { email, password }, headers: { 'cf-connecting-ip': ip } });
const someIp = () => `198.51.100.${Math.floor(Math.random() * 250) + 1}`;

describe('login limits', () => {
  it('an account takes 10 attempts per 15 minutes, from anywhere; then even the right password waits', async () => {
    const t = await newTenant('limits');
    for (let i = 0; i < 10; i++) expectError(await login(t.email, 'wrong', `203.0.113.${i + 1}`), 401, 'invalid_credentials');
    const refused = await login(t.email, t.password, '203.0.113.200');
    expectError(refused, 429, 'rate_limited');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(90); // one attempt comes back every 900/10 s
    expect(refused.body.error.message).toMatch(/try again in \d+ s/);
    // Another account from the same addresses is not affected.
    const other = await newTenant('limits-other');
    expect((await login(other.email, other.password, '203.0.113.1')).status).toBe(200);
  });

  it('a client IP takes 30 attempts per 10 minutes, whatever the emails', async () => {
    const ip = `192.0.2.${Math.floor(Math.random() * 250) + 1}`;
    for (let i = 0; i < 30; i++) expectError(await login(`nobody-${randomUUID()}@example.test`, 'x', ip), 401, 'invalid_credentials');
    const t = await newTenant('limits-ip');
    const refused = await login(t.email, t.password, ip);
    expectError(refused, 429, 'rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // The same account from another address is fine.
    expect((await login(t.email, t.password, someIp())).status).toBe(200);
  });
});
