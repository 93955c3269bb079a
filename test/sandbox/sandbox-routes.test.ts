// /api/sandbox on the real stack (its Worker has SANDBOX_CONTROL_URL, the emulator its runners talk to):
// the API alone, as the dashboard uses it, links a connection (QR and pairing code), acts as a contact who
// messages the phone, reads what the contact received and sends its receipts. Without the variable the
// routes are off: worker/routes/sandbox.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, eventually, expectError, newTenant, uniqueId } from '../harness/api';
import { launchRunner, linkedConnection, phoneNumber, stopRunners } from '../harness/whatsapp';

type Tenant = Awaited<ReturnType<typeof newTenant>>;

describe('sandbox routes', () => {
  let t: Tenant;
  let link: { id: string; number: string };
  let contact: string;

  beforeAll(async () => {
    await launchRunner();
    t = await newTenant('sandbox');
    link = await linkedConnection(t, 'sandbox-api');
    const created = await t.api.post('/api/sandbox/contacts', { phone: phoneNumber(), name: 'Sandbox Alice' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    contact = created.body.phone;
    expect(created.body).toEqual({ phone: contact, name: 'Sandbox Alice', jid: `${contact}@s.whatsapp.net` });
  });

  afterAll(async () => {
    await stopRunners();
    await closeDatabase();
  });

  it('links a connection with a phone created and scanning through /api/sandbox, and lists both', async () => {
    expect((await t.api.get(`/api/connections/${link.id}`)).body.status).toBe('connected');
    const res = await t.api.get('/api/sandbox');
    expect(res.status).toBe(200);
    expect(res.body.enabled).toBe(true);
    expect(res.body.phones).toContainEqual({
      phone: link.number,
      name: `Phone ${link.number}`,
      jid: `${link.number}@s.whatsapp.net`,
      devices: { count: 1, online: 1 },
    });
    expect(res.body.contacts).toContainEqual({ phone: contact, name: 'Sandbox Alice', jid: `${contact}@s.whatsapp.net` });
  });

  it("a contact's message sent through /api/sandbox is stored under the id it answered", async () => {
    const sent = await t.api.post(`/api/sandbox/contacts/${contact}/messages`, { to: link.number, text: 'hello from the sandbox' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    expect(sent.body).toEqual({ ids: [expect.any(String)] });
    const [id] = sent.body.ids;
    const stored = await eventually(async () => {
      const history = (await t.api.get(`/api/messages/${link.id}/${contact}`)).body as any[];
      return history.find((m) => m.provider_message_id === id);
    }, 'the message in history');
    expect(stored).toMatchObject({ direction: 'inbound', message: 'hello from the sandbox', from: `${contact}@s.whatsapp.net`, status: 'received' });
    // `to` may be the phone's JID too.
    const byJid = await t.api.post(`/api/sandbox/contacts/${contact}/messages`, { to: `${link.number}@s.whatsapp.net`, text: 'by jid' });
    expect(byJid.status).toBe(200);
  });

  it("a message sent through the API reaches the contact's inbox (newest last), and its read receipt comes back", async () => {
    const first = await t.api.post('/api/send-message', { connection_id: link.id, to: contact, message: 'to the sandbox contact' });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const second = await t.api.post('/api/send-message', { connection_id: link.id, to: contact, message: 'and another' });
    expect(second.status).toBe(200);
    const [pmid1, pmid2] = [first.body.provider_message_id, second.body.provider_message_id];
    const inbox = await eventually(async () => {
      const res = await t.api.get(`/api/sandbox/contacts/${contact}/inbox`);
      expect(res.status).toBe(200);
      return (res.body as any[]).some((e) => e.id === pmid2) ? (res.body as any[]) : undefined;
    }, "the contact's inbox");
    expect(inbox.map((e) => e.id)).toEqual([pmid1, pmid2]);
    expect(inbox[0]).toEqual({
      id: pmid1,
      from: expect.stringMatching(new RegExp(`^${link.number}:\\d+@s\\.whatsapp\\.net$`)),
      chat: `${link.number}@s.whatsapp.net`,
      t: expect.any(Number),
      text: 'to the sandbox contact',
    });
    const newest = await t.api.get(`/api/sandbox/contacts/${contact}/inbox?limit=1`);
    expect(newest.body.map((e: any) => e.text)).toEqual(['and another']);

    const receipt = await t.api.post(`/api/sandbox/contacts/${contact}/receipts`, { ids: [pmid1], type: 'read' });
    expect(receipt).toMatchObject({ status: 200, body: { ok: true } });
    await eventually(async () => {
      const history = (await t.api.get(`/api/messages/${link.id}/${contact}`)).body as any[];
      return history.find((m) => m.provider_message_id === pmid1)?.status === 'read';
    }, 'the message to be read');
  });

  it('a contact sends a location, contact cards, a poll, a reply and a reaction: each stored as its kind', async () => {
    const asContact = async (body: Record<string, unknown>) => {
      const sent = await t.api.post(`/api/sandbox/contacts/${contact}/messages`, { to: link.number, ...body });
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
      expect(sent.body.ids).toHaveLength(1);
      return sent.body.ids[0] as string;
    };
    const history = async () => (await t.api.get(`/api/messages/${link.id}/${contact}?limit=100`)).body as any[];
    const stored = (id: string, probe: (m: any) => boolean = () => true) =>
      eventually(async () => (await history()).find((m) => m.provider_message_id === id && probe(m)), `message ${id} stored`);

    expect(await stored(await asContact({ location: { latitude: 24.86, longitude: 67.0, name: 'Office', address: 'Karachi' } }))).toMatchObject({
      type: 'location',
      content: { latitude: 24.86, longitude: 67.0, name: 'Office', address: 'Karachi' },
    });
    const card = await stored(await asContact({ contacts: [{ name: 'Bob; Jr.', phone: '+1 555 010 0001' }] }));
    expect(card).toMatchObject({ type: 'contacts', content: { contacts: [{ name: 'Bob; Jr.', phones: [{ number: '+15550100001', jid: '15550100001@s.whatsapp.net' }] }] } });
    const two = await stored(await asContact({ contacts: [{ name: 'Ann', phone: '15550100002' }, { name: 'Cy', phone: '15550100003' }] }));
    expect(two.content.contacts.map((c: any) => c.name)).toEqual(['Ann', 'Cy']);
    const poll = await asContact({ poll: { name: 'Lunch?', options: ['Pizza', 'Sushi'], selectable_count: 1 } });
    expect(await stored(poll)).toMatchObject({ type: 'poll', content: { name: 'Lunch?', options: ['Pizza', 'Sushi'], selectable_count: 1 } });

    // A reply to, and a reaction on, a message the phone sent the contact.
    const ours = await t.api.post('/api/send-message', { connection_id: link.id, to: contact, message: 'react to me' });
    expect(ours.status).toBe(200);
    const oursId = ours.body.provider_message_id as string;
    await eventually(async () => ((await t.api.get(`/api/sandbox/contacts/${contact}/inbox`)).body as any[]).some((e) => e.id === oursId), 'the phone message in the inbox');
    expect(await stored(await asContact({ text: 'replying', reply_to: oursId }))).toMatchObject({ type: 'text', message: 'replying', reply_to: oursId });
    await asContact({ reaction: { message_id: oursId, emoji: '🎉' } });
    await stored(oursId, (m) => m.reactions?.some((r: any) => r.emoji === '🎉' && r.from === `${contact}@s.whatsapp.net`));
    // And on the contact's own message.
    await asContact({ reaction: { message_id: poll, emoji: '👍' } });
    await stored(poll, (m) => m.reactions?.some((r: any) => r.emoji === '👍'));
  });

  it('refuses a message of no kind or of two', async () => {
    for (const body of [{}, { text: 'a', location: { latitude: 1, longitude: 2 } }, { reply_to: 'X', location: { latitude: 1, longitude: 2 } }, { poll: { name: 'Q', options: ['only one'] } }]) {
      expectError(await t.api.post(`/api/sandbox/contacts/${contact}/messages`, { to: link.number, ...body }), 400, 'validation_failed');
    }
  });

  it('links a connection with a pairing code entered through /api/sandbox', async () => {
    const number = phoneNumber();
    expect((await t.api.post('/api/sandbox/phones', { phone: number })).status).toBe(201);
    const id = uniqueId('pair');
    await t.api.post('/api/connections', { connection_id: id });
    const code = await t.api.post(`/api/connections/${id}/pairing-code`, { phone_number: `+${number}` });
    expect(code.status, JSON.stringify(code.body)).toBe(200);
    const linked = await t.api.post(`/api/sandbox/phones/${number}/pairing-code`, { code: code.body.code });
    expect(linked.status, JSON.stringify(linked.body)).toBe(200);
    expect(linked.body).toEqual({ phone: number, device: expect.any(Number), jid: `${number}:${linked.body.device}@s.whatsapp.net` });
    await eventually(async () => (await t.api.get(`/api/connections/${id}`)).body.status === 'connected', 'connected by pairing code');
  }, 90_000);

  it("passes the emulator's refusals through with their status and message", async () => {
    const unknown = phoneNumber();
    const inbox = await t.api.get(`/api/sandbox/contacts/${unknown}/inbox`);
    expectError(inbox, 404, 'not_found');
    expect(inbox.body.error.message).toBe(`no contact ${unknown}`);
    expectError(await t.api.post(`/api/sandbox/contacts/${unknown}/messages`, { to: link.number, text: 'hi' }), 404, 'not_found');
    expectError(await t.api.post(`/api/sandbox/contacts/${contact}/messages`, { to: unknown, text: 'hi' }), 404, 'not_found');
    expectError(await t.api.post(`/api/sandbox/phones/${unknown}/scan`, { qr: 'x' }), 404, 'not_found');
    expectError(await t.api.post(`/api/sandbox/phones/${link.number}/scan`, { qr: '2@stale,AAAA,BBBB,CCCC' }), 409, 'conflict');
    expectError(await t.api.post(`/api/sandbox/phones/${link.number}/pairing-code`, { code: 'ABCD1234' }), 409, 'conflict');
    const taken = await t.api.post('/api/sandbox/contacts', { phone: contact });
    expectError(taken, 400, 'bad_request');
    expect(taken.body.error.message).toBe(`phone ${contact} already exists`);
  });

  it('validates input before the emulator sees it', async () => {
    expectError(await t.api.post('/api/sandbox/phones', { phone: '+1 555 0100' }), 400, 'validation_failed');
    expectError(await t.api.post(`/api/sandbox/contacts/${contact}/messages`, { to: link.number }), 400, 'validation_failed');
    expectError(await t.api.post(`/api/sandbox/contacts/${contact}/receipts`, { ids: ['x'], type: 'played' }), 400, 'validation_failed');
    expectError(await t.api.get(`/api/sandbox/contacts/${contact}/inbox?limit=0`), 400, 'validation_failed');
  });
});
