// Webhooks end to end: a contact's message (the emulator as WhatsApp) goes runner → queue → Postgres →
// outbox → webhooks queue → a real HTTP endpoint on loopback, which verifies every delivery with the
// `standardwebhooks` library, as a tenant's receiver would. Retries run on a compressed schedule
// (TEST_WEBHOOK_VARS: three retries a second apart, then dead) and the outbox sweep every second.
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connections, webhookDeliveries } from '../../drizzle/schema';
import { closeDatabase, database, eventually, expectError, newTenant } from '../harness/api';
import { Sink, type Received } from '../harness/webhook-sink';
import { launchRunner, linkedConnection, phone, phoneNumber, stopRunners } from '../harness/whatsapp';
import { bearer, openStream } from '../realtime/streams';

type Tenant = Awaited<ReturnType<typeof newTenant>>;

const sink = new Sink();

/** Verifies like a receiver: throws unless the signature, id and timestamp check out under `secret`. */
function verify(secret: string, r: Received) {
  return new Webhook(secret).verify(r.body, {
    'webhook-id': r.headers['webhook-id']!,
    'webhook-timestamp': r.headers['webhook-timestamp']!,
    'webhook-signature': r.headers['webhook-signature']!,
  });
}

async function logsOf(t: Tenant, connectionId: string, query = '') {
  const res = await t.api.get(`/api/webhook-logs/${connectionId}${query}`);
  expect(res.status).toBe(200);
  return res.body as any[];
}

describe('webhooks', () => {
  let t: Tenant;
  let link: { id: string; number: string };
  let secret: string;
  const contact = phoneNumber();

  /** Points the connection's webhook at a fresh endpoint and has the contact send `text`. */
  async function messageTo(endpoint: { url: string }, text: string, events?: string[]) {
    const patched = await t.api.patch(`/api/connections/${link.id}/webhook`, { webhook_url: endpoint.url, ...(events ? { events } : {}) });
    expect(patched.status).toBe(200);
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text });
  }

  beforeAll(async () => {
    await sink.start(inject('webhookSinkPort'));
    await launchRunner();
    t = await newTenant('webhooks');
    await phone('POST', '/contacts', { phone: contact, name: 'Alice' });
    link = await linkedConnection(t);
    // The secret is shown once, at creation; this tenant's connection was created by the helper, so rotate to learn one.
    const rotated = await t.api.post(`/api/connections/${link.id}/webhook/rotate-secret`);
    expect(rotated.status).toBe(200);
    secret = rotated.body.webhook_secret;
  });

  afterAll(async () => {
    await stopRunners();
    await closeDatabase();
    await sink.stop();
  });

  it("delivers a contact's message as a signed message.received webhook with the seed's fields", async () => {
    const endpoint = sink.endpoint();
    await messageTo(endpoint, 'hello webhook');
    const [got] = await eventually(async () => (sink.at(endpoint.path).length ? sink.at(endpoint.path) : undefined), 'the webhook');
    const body = verify(secret, got!) as any;
    expect(got!.headers['user-agent']).toMatch(/^Switchboard-Webhooks\/\d+\.\d+\.\d+/);
    expect(got!.headers['content-type']).toBe('application/json');
    expect(body).toMatchObject({
      event: 'message.received',
      event_id: got!.headers['webhook-id'],
      from: contact,
      message: 'hello webhook',
      connection_id: link.id,
      chat_id: `${contact}@s.whatsapp.net`,
      message_type: 'text',
      push_name: 'Alice',
      is_group: false,
    });
    expect(typeof body.provider_message_id).toBe('string');
    expect(body.sequence).toBeGreaterThan(0);
    expect(body.data).toMatchObject({ message: 'hello webhook', direction: 'inbound', provider_message_id: body.provider_message_id });
    // The same message is in history under the same provider id.
    const history = (await t.api.get(`/api/messages/${link.id}/${contact}`)).body as any[];
    expect(history.some((m) => m.provider_message_id === body.provider_message_id)).toBe(true);
    const [log] = await eventually(async () => {
      const logs = (await logsOf(t, link.id)).filter((l) => l.event_id === body.event_id);
      return logs.length ? logs : undefined;
    }, 'the log row');
    expect(log).toMatchObject({ event_type: 'message.received', state: 'delivered', attempt: 1, status_code: 200, url: endpoint.url, response_excerpt: 'ok' });
    expect(log.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it("end to end: a contact's message is stored, pushed as new-message, and delivered as a signed webhook", async () => {
    const stream = await openStream('/api/realtime', bearer(t.apiKey));
    try {
      const endpoint = sink.endpoint();
      await messageTo(endpoint, 'all three ways');
      const frame = await stream.next((f) => f.event === 'new-message' && f.data.message?.message === 'all three ways', 'new-message');
      expect(frame.data).toMatchObject({ connectionId: link.id, chatId: `${contact}@s.whatsapp.net` });
      const [got] = await eventually(async () => (sink.at(endpoint.path).length ? sink.at(endpoint.path) : undefined), 'the webhook');
      const body = verify(secret, got!) as any;
      expect(body.provider_message_id).toBe(frame.data.message.provider_message_id);
      const stored = (await t.api.get(`/api/messages/${link.id}/${contact}`)).body as any[];
      expect(stored.find((m) => m.provider_message_id === body.provider_message_id)).toMatchObject({ message: 'all three ways', status: 'received' });
    } finally {
      await stream.close();
    }
  });

  it('sequence grows by one per delivery of the connection', async () => {
    const endpoint = sink.endpoint();
    await messageTo(endpoint, 'seq 1');
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'seq 2' });
    const got = await eventually(async () => (sink.at(endpoint.path).length >= 2 ? sink.at(endpoint.path) : undefined), 'two webhooks');
    const seqs = got.map((r) => r.json.sequence).sort((a, b) => a - b);
    expect(seqs[1]).toBe(seqs[0] + 1);
  });

  it('retries a failing endpoint with the same webhook-id: N failure rows, then one success', async () => {
    const endpoint = sink.endpoint((n) => (n <= 2 ? 500 : 200));
    await messageTo(endpoint, 'fails twice');
    const got = await eventually(async () => (sink.at(endpoint.path).length >= 3 ? sink.at(endpoint.path) : undefined), 'three attempts', 30_000);
    expect(got.map((r) => r.answered)).toEqual([500, 500, 200]);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(new Set(got.map((r) => r.body)).size).toBe(1); // the same bytes every time
    for (const r of got) verify(secret, r);
    const logs = await eventually(async () => {
      const l = (await logsOf(t, link.id)).filter((x) => x.event_id === got[0]!.headers['webhook-id']);
      return l.length === 3 ? l : undefined;
    }, 'three log rows');
    expect(logs.map((l) => [l.attempt, l.state, l.status_code])).toEqual([
      [3, 'delivered', 200],
      [2, 'retrying', 500],
      [1, 'retrying', 500],
    ]);
    expect(logs[2].response_excerpt).toBe('nope 1');
  });

  it('an endpoint down through the whole schedule ends dead, and a replay delivers it', async () => {
    let up = false;
    const endpoint = sink.endpoint(() => (up ? 200 : 503));
    await messageTo(endpoint, 'never arrives');
    // One first attempt and three retries, then dead.
    const dead = await eventually(async () => {
      const l = (await logsOf(t, link.id, '?state=dead')).filter((x) => x.url === endpoint.url);
      return l.length ? l : undefined;
    }, 'a dead delivery', 30_000);
    expect(dead[0]).toMatchObject({ attempt: 4, status_code: 503 });
    expect(sink.at(endpoint.path)).toHaveLength(4);

    up = true;
    const since = new Date(Date.now() - 60_000).toISOString();
    const replay = await t.api.post(`/api/connections/${link.id}/webhook/replay`, { since });
    expect(replay.status).toBe(202);
    expect(replay.body.replayed).toBeGreaterThanOrEqual(1);
    const delivered = await eventually(async () => sink.at(endpoint.path).find((r) => r.answered === 200), 'the replayed delivery');
    expect(delivered.headers['webhook-id']).toBe(sink.at(endpoint.path)[0]!.headers['webhook-id']);
    verify(secret, delivered);

    // One delivery again by its log row: the endpoint gets it a second time, under the same id.
    const replayOne = await t.api.post(`/api/webhook-logs/${dead[0].id}/replay`);
    expect(replayOne.status).toBe(202);
    expect(replayOne.body).toEqual({ replayed: 1 });
    await eventually(async () => sink.at(endpoint.path).filter((r) => r.answered === 200).length === 2, 'the second replay');
  });

  it('410 Gone stops the retries at once', async () => {
    const endpoint = sink.endpoint(() => 410);
    await messageTo(endpoint, 'gone');
    const [log] = await eventually(async () => {
      const l = (await logsOf(t, link.id, '?state=dead')).filter((x) => x.url === endpoint.url);
      return l.length ? l : undefined;
    }, 'the dead delivery');
    expect(log).toMatchObject({ attempt: 1, status_code: 410 });
    await new Promise((r) => setTimeout(r, 2500)); // longer than a retry delay: none comes
    expect(sink.at(endpoint.path)).toHaveLength(1);
  });

  it('after a secret rotation, deliveries verify under the new and the previous secret', async () => {
    const previous = secret;
    const rotated = await t.api.post(`/api/connections/${link.id}/webhook/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.webhook_secret).toMatch(/^whsec_/);
    expect(new Date(rotated.body.previous_secret_expires_at).getTime() - Date.now()).toBeGreaterThan(23 * 3600_000);
    secret = rotated.body.webhook_secret;
    const endpoint = sink.endpoint();
    await messageTo(endpoint, 'after rotation');
    const [got] = await eventually(async () => (sink.at(endpoint.path).length ? sink.at(endpoint.path) : undefined), 'the webhook');
    expect(got!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verify(secret, got!)).toMatchObject({ message: 'after rotation' });
    expect(verify(previous, got!)).toMatchObject({ message: 'after rotation' });
    expect(() => verify(`whsec_${Buffer.from(randomUUID()).toString('base64')}`, got!)).toThrow();
  });

  it('keeps the secrets sealed at rest: the columns hold neither secret, each bound to its connection', async () => {
    const [row] = await database().select().from(connections).where(eq(connections.connectionId, link.id));
    for (const stored of [row!.webhookSecret, row!.previousWebhookSecret!]) {
      expect(stored).toMatch(/^sealed:e2e:[A-Za-z0-9_-]+$/);
      expect(stored).not.toContain(secret.slice('whsec_'.length, 20));
    }
    // Created ones too (the secret shown once at creation is not what the row holds).
    const created = await t.api.post('/api/connections', { connection_id: `sealed-${randomUUID().slice(0, 8)}` });
    expect(created.status).toBe(201);
    const [fresh] = await database().select().from(connections).where(eq(connections.connectionId, created.body.connection_id));
    expect(fresh!.webhookSecret).toMatch(/^sealed:e2e:/);
    expect(fresh!.webhookSecret).not.toContain(created.body.webhook_secret);
  });

  it('a plain secret from before sealing keeps signing, and the cron seals it', async () => {
    const plain = `whsec_${Buffer.from(randomUUID().replaceAll('-', '')).toString('base64')}`;
    await database().update(connections).set({ webhookSecret: plain, previousWebhookSecret: null }).where(eq(connections.connectionId, link.id));
    secret = plain;
    const endpoint = sink.endpoint();
    await messageTo(endpoint, 'signed under a plain secret');
    const [got] = await eventually(async () => (sink.at(endpoint.path).length ? sink.at(endpoint.path) : undefined), 'the webhook');
    expect(verify(plain, got!)).toMatchObject({ message: 'signed under a plain secret' });
    await eventually(async () => {
      const [row] = await database().select().from(connections).where(eq(connections.connectionId, link.id));
      return row!.webhookSecret.startsWith('sealed:e2e:');
    }, 'the secret sealed by the cron');
    const later = sink.endpoint();
    await messageTo(later, 'signed after sealing');
    const [again] = await eventually(async () => (sink.at(later.path).length ? sink.at(later.path) : undefined), 'the webhook');
    expect(verify(plain, again!)).toMatchObject({ message: 'signed after sealing' });
  });

  it('subscriptions: message.sent and message.status only when asked for; message.received by default', async () => {
    const quiet = sink.endpoint();
    expect((await t.api.patch(`/api/connections/${link.id}/webhook`, { webhook_url: quiet.url })).body.webhook_events).toEqual(['message.received']);
    const loud = sink.endpoint();
    const patched = await t.api.patch(`/api/connections/${link.id}/webhook`, { webhook_url: loud.url, events: ['message.sent', 'message.status'] });
    expect(patched.body.webhook_events).toEqual(['message.sent', 'message.status']);
    const sent = await t.api.post('/api/send-message', { connection_id: link.id, to: contact, message: 'tell me', client_message_id: `c-${randomUUID()}` });
    expect(sent.status).toBe(200);
    const got = await eventually(async () => {
      const list = sink.at(loud.path).map((r) => verify(secret, r) as any);
      return list.some((b) => b.event === 'message.sent') && list.some((b) => b.event === 'message.status' && b.status === 'delivered') ? list : undefined;
    }, 'message.sent and a delivered status');
    const sentEvents = got.filter((b) => b.event === 'message.sent');
    expect(sentEvents).toHaveLength(1); // told once, by whichever of the API and the server ack got there first
    expect(sentEvents[0]).toMatchObject({ client_message_id: sent.body.client_message_id, provider_message_id: sent.body.provider_message_id, to: contact });
    expect(got.every((b) => b.event !== 'message.received')).toBe(true);
    expect(sink.at(quiet.path)).toHaveLength(0);
  });

  it('a delivery left pending and never enqueued (a Worker that died after the commit) is delivered by the sweep', async () => {
    const endpoint = sink.endpoint();
    expect((await t.api.patch(`/api/connections/${link.id}/webhook`, { webhook_url: endpoint.url, events: ['connection.status'] })).status).toBe(200);
    const db = database();
    const [conn] = await db.select().from(connections).where(eq(connections.connectionId, link.id));
    // Exactly what the events consumer's transaction leaves when nothing runs after its commit.
    await db.insert(webhookDeliveries).values({
      id: randomUUID(),
      tenantId: conn!.tenantId,
      connectionPk: conn!.id,
      eventType: 'connection.status',
      eventKey: `connection.status:orphan:${randomUUID()}`,
      data: { status: 'connected', status_reason: null, phone_number: `+${link.number}`, at: new Date().toISOString() },
      sequence: 999_999,
    });
    const [got] = await eventually(async () => (sink.at(endpoint.path).length ? sink.at(endpoint.path) : undefined), 'the swept delivery', 20_000);
    expect(verify(secret, got!)).toMatchObject({ event: 'connection.status', status: 'connected', sequence: 999_999, connection_id: link.id });
  });

  it('re-checks the URL policy at delivery: a private address stored earlier is refused, not fetched', async () => {
    const db = database();
    const endpoint = sink.endpoint();
    await messageTo(endpoint, 'checked again', ['message.received']);
    await eventually(async () => sink.at(endpoint.path).length === 1, 'the first delivery');
    // A URL allowed under an earlier policy (or written before the check existed): the metadata address.
    await db.update(connections).set({ webhookUrl: 'http://169.254.169.254/latest/meta-data/' }).where(eq(connections.connectionId, link.id));
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'to metadata?' });
    const [log] = await eventually(async () => {
      const l = (await logsOf(t, link.id, '?state=failed')).filter((x) => x.url.startsWith('http://169.254.169.254'));
      return l.length ? l : undefined;
    }, 'a refused delivery');
    expect(log.error).toMatch(/refused: 169\.254\.169\.254 is not a public address \(169\.254\.0\.0\/16, link-local/);
    expect(log.status_code).toBeNull();
    await db.update(connections).set({ webhookUrl: endpoint.url }).where(eq(connections.connectionId, link.id));
  });

  it('sends a signed test event on request and answers with the attempt', async () => {
    const endpoint = sink.endpoint();
    await t.api.patch(`/api/connections/${link.id}/webhook`, { webhook_url: endpoint.url });
    const res = await t.api.post(`/api/connections/${link.id}/webhook/test`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ event_type: 'test', state: 'delivered', status_code: 200, attempt: 1, delivery_id: null });
    const [got] = sink.at(endpoint.path);
    expect(verify(secret, got!)).toMatchObject({ event: 'test', connection_id: link.id, event_id: res.body.event_id });
    expect((await logsOf(t, link.id, '?event=test')).some((l) => l.id === res.body.id)).toBe(true);
    // A test event has no delivery behind it to replay.
    expectError(await t.api.post(`/api/webhook-logs/${res.body.id}/replay`), 409, 'conflict');
  });

  it('refuses webhook URLs on other ports or with credentials, and unknown event names', async () => {
    for (const url of ['https://hooks.example.com:8443/in', 'https://user:pw@hooks.example.com/in']) {
      expectError(await t.api.patch(`/api/connections/${link.id}/webhook`, { webhook_url: url }), 400, 'invalid_webhook_url');
    }
    expectError(await t.api.patch(`/api/connections/${link.id}/webhook`, { webhook_url: null, events: ['message.exploded'] }), 400, 'validation_failed');
    expectError(await t.api.patch(`/api/connections/${link.id}/webhook`, { webhook_url: null, events: [] }), 400, 'validation_failed');
  });

  it("another tenant sees none of it: its logs, replays and test events are 404s", async () => {
    const other = await newTenant('webhooks-other');
    expectError(await other.api.get(`/api/webhook-logs/${link.id}`), 404, 'connection_not_found');
    expectError(await other.api.post(`/api/connections/${link.id}/webhook/test`), 404, 'connection_not_found');
    expectError(await other.api.post(`/api/connections/${link.id}/webhook/rotate-secret`), 404, 'connection_not_found');
    expectError(await other.api.post(`/api/connections/${link.id}/webhook/replay`, { since: new Date(0).toISOString() }), 404, 'connection_not_found');
    const [anyLog] = await logsOf(t, link.id);
    expectError(await other.api.post(`/api/webhook-logs/${anyLog.id}/replay`), 404, 'webhook_log_not_found');
    const { rows } = await database().execute(sql`select count(*)::int as n from webhook_deliveries where tenant_id = ${other.tenantId}::uuid`);
    expect((rows[0] as { n: number }).n).toBe(0);
  });
});
