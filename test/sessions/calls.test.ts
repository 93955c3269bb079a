// Incoming calls, end to end with real Baileys against the emulator: a contact rings the account (the
// emulator relays `<call><offer/></call>` as WhatsApp does), the call is reported as `call.received` on the
// webhook and both realtime channels; under PUT …/calls {reject: true} the runner rejects it (the emulator
// records the device's `<reject>`) and sends the caller the policy's text; a call delivered while the
// account was offline is reported, never rejected.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { calls } from '../../drizzle/schema';
import { call, closeDatabase, database, expectError, newTenant, type ApiResponse } from '../harness/api';
import { observedConnection, type ObservedConnection } from '../harness/observed-connection';
import { Sink } from '../harness/webhook-sink';
import { eventually, launchRunner, phone, phoneNumber, stopRunners } from '../harness/whatsapp';
import type { Stream } from '../realtime/streams';

const sink = new Sink();
let observed: ObservedConnection;
let stream: Stream;
let socketEvents: ObservedConnection['socketEvents'];

type Tenant = Awaited<ReturnType<typeof newTenant>>;
let t: Tenant;
let link: { id: string; number: string };
let hook: { url: string; path: string };
const carol = phoneNumber();
const carolJid = `${carol}@s.whatsapp.net`;

beforeAll(async () => {
  await sink.start(inject('webhookSinkPort'));
  await launchRunner();
  t = await newTenant('calls');
  await phone('POST', '/contacts', { phone: carol, name: 'Carol' });
  observed = await observedConnection(t, sink, ['call.received']);
  ({ link, hook, stream, socketEvents } = observed);
});

afterAll(async () => {
  await observed?.close();
  await stopRunners();
  await sink.stop();
  await closeDatabase();
});

type CallRecord = { id: string; from: string; to: string; video: boolean; state: 'ringing' | 'rejected'; rejectedBy: string | null };
const ring = (opts: { video?: boolean } = {}) => phone<CallRecord>('POST', `/contacts/${carol}/calls`, { to: link.number, ...opts });
const emulated = async (id: string) => (await phone<CallRecord[]>('GET', '/calls')).find((c) => c.id === id);
const webhook = (id: string) => eventually(async () => sink.at(hook.path).find((r) => r.json.event === 'call.received' && r.json.call_id === id), `the call.received webhook of ${id}`);
const socketEvent = (id: string) =>
  eventually(async () => socketEvents.find((e) => e.event === 'call-received' && e.data.call?.id === id)?.data, `socket.io call-received of ${id}`);
const frame = (id: string) => eventually(async () => stream.frames.find((f) => f.event === 'call-received' && (f.data as any).call?.id === id), `realtime frame of ${id}`);
const setPolicy = (body: unknown) => t.api.put(`/api/connections/${link.id}/calls`, body);

describe('incoming calls', () => {
  it('are reported and left ringing by default', async () => {
    const got = await t.api.get(`/api/connections/${link.id}`);
    expect(got.body.calls).toEqual({ reject: false, message: null });
    const placed = await ring();
    const delivery = await webhook(placed.id);
    expect(delivery.json).toMatchObject({
      event: 'call.received',
      connection_id: link.id,
      call_id: placed.id,
      from: carol,
      chat_id: carolJid,
      is_video: false,
      is_group: false,
      rejected: false,
      data: { id: placed.id, from: carol, chat_id: carolJid, offline: false, rejected: false, reject_message_id: null, group_id: null },
    });
    // Signed as Standard Webhooks, like every event.
    expect(delivery.headers['webhook-id']).toBeTruthy();
    expect(delivery.headers['webhook-signature']).toMatch(/^v1,/);
    expect((await socketEvent(placed.id)).chatId).toBe(carolJid);
    expect((await frame(placed.id)).data).toMatchObject({ connectionId: link.id, chatId: carolJid });
    expect((await emulated(placed.id))?.state).toBe('ringing');
    // Stored once.
    const rows = await database().select().from(calls).where(eq(calls.callId, placed.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ fromJid: carolJid, rejected: false, isVideo: false });
  });

  it('tell a video call from a voice call', async () => {
    const placed = await ring({ video: true });
    expect((await webhook(placed.id)).json).toMatchObject({ is_video: true, data: { is_video: true } });
  });

  it('are rejected under the policy, and the caller gets its text', async () => {
    const text = `Calls are not answered here ${Date.now()}: please write.`;
    const set = await setPolicy({ reject: true, message: text });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.calls).toEqual({ reject: true, message: text });
    const placed = await ring();
    const delivery = await webhook(placed.id);
    expect(delivery.json).toMatchObject({ rejected: true, data: { rejected: true } });
    const messageId = delivery.json.data.reject_message_id as string;
    expect(messageId).toBeTruthy();
    const record = await eventually(async () => ((await emulated(placed.id))?.state === 'rejected' ? emulated(placed.id) : undefined), 'the emulator to see the reject');
    expect(record?.rejectedBy).toContain(link.number);
    const inbox = await phone<any[]>('GET', `/contacts/${carol}/inbox`);
    const sent = inbox.find((e) => e.id === messageId);
    expect(sent?.message?.conversation ?? sent?.message?.extendedTextMessage?.text).toBe(text);
  });

  it('are rejected without a text when the policy has none, and left ringing again once reject is off', async () => {
    expect((await setPolicy({ reject: true })).body.calls).toEqual({ reject: true, message: null });
    const quiet = await ring();
    const delivery = await webhook(quiet.id);
    expect(delivery.json.data).toMatchObject({ rejected: true, reject_message_id: null });
    // Turning reject off drops the text: it is only sent after a reject.
    expect((await setPolicy({ reject: false, message: 'ignored' })).body.calls).toEqual({ reject: false, message: null });
    const rings = await ring();
    expect((await webhook(rings.id)).json.rejected).toBe(false);
    expect((await emulated(rings.id))?.state).toBe('ringing');
  });

  it('delivered while the account was offline are reported, never rejected', async () => {
    await setPolicy({ reject: true, message: 'offline calls must not get this' });
    const online = async () => (await phone<{ devices: { online: boolean }[] }>('GET', `/accounts/${link.number}`)).devices.some((d) => d.online);
    // The emulator turns the runner's logins away (503: it retries) and drops its socket: the account is offline.
    await phone('POST', `/accounts/${link.number}/faults`, { action: 'refuse-logins', reason: 503 });
    await phone('POST', `/accounts/${link.number}/faults`, { action: 'drop-socket' });
    await eventually(async () => !(await online()), 'the account to be offline');
    const placed = await ring();
    await phone('DELETE', `/accounts/${link.number}/faults`);
    // At the next login WhatsApp relays the queued call marked offline: it has ended, so it is not rejected.
    const delivery = await webhook(placed.id);
    expect(delivery.json).toMatchObject({ rejected: false, data: { offline: true, rejected: false, reject_message_id: null } });
    expect((await emulated(placed.id))?.state).toBe('ringing');
    await eventually(online, 'the account to be back online');
    await setPolicy({ reject: false });
  });

  it('refuse a bad policy with 400 and an unknown connection with 404', async () => {
    expectError(await setPolicy({ reject: 'yes' }), 400, 'validation_failed');
    expectError(await setPolicy({ reject: true, surprise: 1 }), 400, 'validation_failed');
    expectError(await setPolicy({ reject: true, message: 'é'.repeat(2049) }), 400, 'validation_failed');
    expect((await setPolicy({ reject: true, message: 'é'.repeat(2048) })).status).toBe(200);
    await setPolicy({ reject: false });
    expectError(await t.api.put('/api/connections/no-such-connection/calls', { reject: true }), 404, 'connection_not_found');
    const other = await newTenant('calls-other');
    expectError(await other.api.put(`/api/connections/${link.id}/calls`, { reject: true }), 404, 'connection_not_found');
  });

  it('are listed newest first, each as its webhook carried it, a page at a time, and to no other tenant', async () => {
    const delivered = sink.at(hook.path).filter((r) => r.json.event === 'call.received').map((r) => r.json.data);
    expect(delivered.length).toBeGreaterThanOrEqual(4);
    const listed = await t.api.get(`/api/connections/${link.id}/calls?limit=500`);
    expect(listed.status).toBe(200);
    const calls = listed.body as any[];
    expect(new Set(calls.map((c) => c.id)).size).toBe(calls.length);
    expect([...calls].sort((a, b) => (a.id === b.id ? 0 : b.timestamp.localeCompare(a.timestamp) || (b.id < a.id ? -1 : 1)))).toEqual(calls);
    for (const d of delivered) expect(calls.find((c) => c.id === d.id)).toEqual(d);
    expect(calls).toHaveLength(delivered.length);

    // Two at a time, following Link rel="next", gives the same list.
    const paged: any[] = [];
    let next: string | null = `/api/connections/${link.id}/calls?limit=2`;
    while (next) {
      const page: ApiResponse = await t.api.get(next);
      expect(page.status).toBe(200);
      paged.push(...page.body);
      next = /<([^>]+)>; rel="next"/.exec(page.headers.get('link') ?? '')?.[1] ?? null;
    }
    expect(paged).toEqual(calls);

    expectError(await t.api.get(`/api/connections/${link.id}/calls?before=not-a-cursor`), 400, 'validation_failed');
    expectError(await t.api.get(`/api/connections/${link.id}/calls?limit=0`), 400, 'validation_failed');
    const other = await newTenant('calls-reader');
    expectError(await other.api.get(`/api/connections/${link.id}/calls`), 404, 'connection_not_found');
  });

  it('are in the API reference', async () => {
    const doc = (await call('GET', '/api/openapi.json')).body;
    expect(doc.paths['/api/connections/{connection_id}/calls'].put['x-required-scope']).toBe('manage');
    expect(doc.paths['/api/connections/{connection_id}/calls'].get['x-required-scope']).toBe('read');
    expect(Object.keys(doc.webhooks)).toContain('call.received');
  });
});
