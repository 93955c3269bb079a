// GET /api/stats on the real stack: one tenant with a linked connection that received and sent messages
// and whose webhook endpoint is down (every attempt fails, both deliveries end dead on the compressed
// schedule), plus stored rows dated outside the windows; another tenant sees only zeros.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connections, webhookLogs } from '../../drizzle/schema';
import { closeDatabase, database, eventually, expectError, newTenant, uniqueId } from '../harness/api';
import { connectionPk, seedChat } from '../harness/seed';
import { launchRunner, linkedConnection, phone, phoneNumber, stopRunners } from '../harness/whatsapp';

type Tenant = Awaited<ReturnType<typeof newTenant>>;

const HOUR = 3_600_000;
const startOfTodayUtc = () => {
  const now = new Date();
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
};
const zeros = { disconnected: 0, connecting: 0, connected: 0, logged_out: 0, replaced: 0 };

describe('GET /api/stats', () => {
  let a: Tenant;
  let b: Tenant;
  let link: { id: string; number: string };
  const contact = phoneNumber();
  let startedAt: number;

  beforeAll(async () => {
    startedAt = Date.now() - 60_000;
    await launchRunner();
    a = await newTenant('stats-a');
    b = await newTenant('stats-b');
    await phone('POST', '/contacts', { phone: contact, name: 'Stats contact' });
    link = await linkedConnection(a);
    // Nothing listens there: every attempt is a network error, retried three times a second apart, then dead.
    const down = `http://127.0.0.1:${inject('webhookSinkPort')}/stats-down`;
    expect((await a.api.patch(`/api/connections/${link.id}/webhook`, { webhook_url: down })).status).toBe(200);
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'one' });
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'two' });
    const sent = await a.api.post('/api/send-message', { connection_id: link.id, to: contact, message: 'back to you' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);

    // A connection that never ran, with messages from yesterday (two inbound, one outbound) and an old failed attempt.
    const idle = uniqueId('idle');
    await a.api.post('/api/connections', { connection_id: idle });
    const idlePk = await connectionPk(idle, a.tenantId);
    await seedChat(idlePk, '15550009999@s.whatsapp.net', 3, startOfTodayUtc() - 3 * HOUR);
    await database().insert(webhookLogs).values({
      tenantId: a.tenantId,
      connectionPk: idlePk,
      eventId: `evt-old-${idlePk}`,
      eventType: 'message.received',
      url: 'https://hooks.example.org/in',
      attempt: 1,
      state: 'retrying',
      statusCode: 500,
      createdAt: new Date(Date.now() - 25 * HOUR),
    });
    // One the phone unlinked (the API has no way to make that happen without a phone).
    const gone = uniqueId('gone');
    await a.api.post('/api/connections', { connection_id: gone });
    await database().update(connections).set({ status: 'logged_out' }).where(eq(connections.id, await connectionPk(gone, a.tenantId)));

    await eventually(async () => {
      const dead = (await a.api.get(`/api/webhook-logs/${link.id}?state=dead`)).body as any[];
      return dead.length === 2;
    }, 'both deliveries to be dead', 40_000);
  });

  afterAll(async () => {
    await stopRunners();
    await closeDatabase();
  });

  it("counts the tenant's connections by status, messages by direction and the last day's webhook failures", async () => {
    const since = new Date(startedAt).toISOString();
    const res = await a.api.get(`/api/stats?since=${encodeURIComponent(since)}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({
      connections: { total: 3, by_status: { ...zeros, connected: 1, disconnected: 1, logged_out: 1 } },
      messages: { since, inbound: 2, outbound: 1 },
      webhooks: { since: expect.any(String), failed_attempts: 8, dead_deliveries: 2 },
    });
    const window = Date.now() - Date.parse(res.body.webhooks.since);
    expect(window).toBeGreaterThanOrEqual(24 * HOUR);
    expect(window).toBeLessThan(24 * HOUR + 60_000);
  });

  it('counts messages from the start of today UTC by default, and from `since` when given', async () => {
    const today = await a.api.get('/api/stats');
    expect(today.status).toBe(200);
    expect(today.body.messages.since).toBe(new Date(startOfTodayUtc()).toISOString());
    expect(today.body.messages).toMatchObject({ inbound: 2, outbound: 1 });
    // From four hours before midnight: yesterday's stored messages too. An offset is taken as written.
    const earlier = new Date(startOfTodayUtc() - 4 * HOUR);
    const withOffset = `${earlier.toISOString().slice(0, 10)}T${earlier.toISOString().slice(11, 19)}+00:00`;
    const back = await a.api.get(`/api/stats?since=${encodeURIComponent(withOffset)}`);
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    expect(back.body.messages).toEqual({ since: earlier.toISOString(), inbound: 4, outbound: 2 });
    // From a minute ahead (a client's clock): nothing yet.
    const ahead = await a.api.get(`/api/stats?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(ahead.body.messages).toMatchObject({ inbound: 0, outbound: 0 });
  });

  it("another tenant sees none of it", async () => {
    const res = await b.api.get(`/api/stats?since=${encodeURIComponent(new Date(startOfTodayUtc() - 4 * HOUR).toISOString())}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      connections: { total: 0, by_status: zeros },
      messages: { since: expect.any(String), inbound: 0, outbound: 0 },
      webhooks: { since: expect.any(String), failed_attempts: 0, dead_deliveries: 0 },
    });
  });

  it.each([
    ['not a time', 'yesterday'],
    ['a date without a time', '2026-12-01'],
    ['more than 31 days ago', new Date(Date.now() - 32 * 24 * HOUR).toISOString()],
    ['in the future', new Date(Date.now() + 24 * HOUR).toISOString()],
  ])('refuses a `since` that is %s with 400', async (_label, since) => {
    expectError(await a.api.get(`/api/stats?since=${encodeURIComponent(since)}`), 400, 'validation_failed');
  });
});
