// Real sessions end to end: the Worker in workerd, real runner processes running real Baileys against the
// WhatsApp Web emulator (acting as the phone and its contacts), observed only through the public API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, expectError, newTenant, uniqueId } from '../harness/api';
import { eventually, launchRunner, linkedConnection, phone, phoneNumber, runnersStarted, stopRunners } from '../harness/whatsapp';

afterAll(async () => {
  await stopRunners();
  await closeDatabase();
});

type Tenant = Awaited<ReturnType<typeof newTenant>>;

async function connection(t: Tenant, id: string) {
  return (await t.api.get(`/api/connections/${id}`)).body;
}

async function inbox(contact: string): Promise<{ id: string; text: string }[]> {
  return phone('GET', `/contacts/${contact}/inbox`);
}

describe('WhatsApp sessions through runners', () => {
  let t: Tenant;
  let link: { id: string; number: string };
  const contact = phoneNumber();

  beforeAll(async () => {
    await launchRunner();
    t = await newTenant('wa');
    await phone('POST', '/contacts', { phone: contact, name: 'Alice' });
    link = await linkedConnection(t);
  });

  it('links by QR and reports the phone number', async () => {
    const c = await connection(t, link.id);
    expect(c).toMatchObject({ status: 'connected', phone_number: `+${link.number}` });
    expect((await t.api.get(`/api/get-qr/${link.id}`)).body).toMatchObject({ qr: null, status: 'connected' });
  });

  it('sends a text that the contact decrypts, once, even when the request is retried', async () => {
    const body = { connection_id: link.id, to: contact, message: 'Hello from Switchboard', client_message_id: `c-${uniqueId()}` };
    const sent = await t.api.post('/api/send-message', body);
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ status: 'sent', client_message_id: body.client_message_id });
    // Where the time went: the database, the runner round trip, and the runner's own part within it.
    expect(sent.headers.get('server-timing')).toMatch(/^db;dur=\d+, runner;dur=\d+, whatsapp;dur=[\d.]+;desc="runner and WhatsApp"$/);
    const pid = sent.body.provider_message_id;
    await eventually(async () => (await inbox(contact)).some((m) => m.id === pid && m.text === body.message), 'the contact to decrypt it');
    const again = await t.api.post('/api/send-message', body);
    expect(again.body).toEqual(sent.body);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await inbox(contact)).filter((m) => m.text === body.message)).toHaveLength(1);
  });

  it('takes a number written the way people copy it (+, spaces, dashes, parentheses)', async () => {
    const written = `+${contact.slice(0, 1)} (${contact.slice(1, 4)}) ${contact.slice(4, 7)}-${contact.slice(7)}`;
    const sent = await t.api.post('/api/send-message', { connection_id: link.id, to: written, message: 'formatted number' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    await eventually(async () => (await inbox(contact)).some((m) => m.id === sent.body.provider_message_id), 'the contact to decrypt it');
    const history = (await t.api.get(`/api/messages/${link.id}/${contact}`)).body as any[];
    expect(history.find((m) => m.provider_message_id === sent.body.provider_message_id)).toMatchObject({ chat_id: `${contact}@s.whatsapp.net` });
  });

  it('refuses a number that is not on WhatsApp with 400, and sends nothing', async () => {
    const stranger = phoneNumber(); // a well-formed number no WhatsApp account has
    const body = { connection_id: link.id, to: stranger, message: 'anyone there?', client_message_id: `c-${uniqueId()}` };
    const res = await t.api.post('/api/send-message', body);
    expectError(res, 400, 'invalid_recipient');
    expect(res.body.error.message).toMatch(/not on WhatsApp/);
    // The attempt is kept as failed (not pending), so a retry with the same id is refused the same way.
    const messages = (await t.api.get(`/api/messages/${link.id}/${stranger}`)).body as any[];
    expect(messages.map((m) => m.status)).toEqual(['failed']);
    expectError(await t.api.post('/api/send-message', body), 400, 'invalid_recipient');
  });

  it('reaches a number WhatsApp has under another form than the one dialled (Brazil’s ninth digit)', async () => {
    const dialled = `${contact.slice(0, 4)}9${contact.slice(4)}`;
    await phone('POST', '/dialled-numbers', { number: dialled, phone: contact });
    const sent = await t.api.post('/api/send-message', { connection_id: link.id, to: dialled, message: 'ninth digit' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    const pid = sent.body.provider_message_id;
    await eventually(async () => (await inbox(contact)).some((m) => m.id === pid), 'the registered account to decrypt it');
    // Stored in the chat WhatsApp knows, where the replies arrive.
    const history = (await t.api.get(`/api/messages/${link.id}/${contact}`)).body as any[];
    expect(history.find((m) => m.provider_message_id === pid)).toMatchObject({ chat_id: `${contact}@s.whatsapp.net`, to: `${contact}@s.whatsapp.net` });
  });

  it('tracks delivery and read receipts on the sent message', async () => {
    const sent = await t.api.post('/api/send-message', { connection_id: link.id, to: contact, message: 'receipt me' });
    const pid = sent.body.provider_message_id;
    const statusOf = async () =>
      ((await t.api.get(`/api/messages/${link.id}/${contact}`)).body as any[]).find((m) => m.provider_message_id === pid)?.status;
    await eventually(async () => (await statusOf()) === 'delivered', 'a delivery receipt');
    await phone('POST', `/contacts/${contact}/receipts`, { ids: [pid], type: 'read' });
    await eventually(async () => (await statusOf()) === 'read', 'a read receipt');
  });

  it('receives a message from a contact into history and the chat list', async () => {
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'hi from Alice' });
    const msg = await eventually(async () => {
      const list = (await t.api.get(`/api/messages/${link.id}/${contact}`)).body as any[];
      return list.find((m) => m.direction === 'inbound' && m.message === 'hi from Alice');
    }, 'the inbound message');
    expect(msg).toMatchObject({ chat_id: `${contact}@s.whatsapp.net`, type: 'text', status: 'received' });
    const chats = (await t.api.get(`/api/chats/${link.id}`)).body as any[];
    expect(chats.find((c) => c.chat_id === `${contact}@s.whatsapp.net`)).toMatchObject({ last_message: 'hi from Alice' });
  });

  it('sends to a group by its JID: every participant decrypts it', async () => {
    const bob = phoneNumber();
    await phone('POST', '/contacts', { phone: bob, name: 'Bob' });
    const group = await phone('POST', '/groups', { subject: 'Team', participants: [link.number, contact, bob] });
    for (const text of ['hello team', 'second to the team']) {
      const sent = await t.api.post('/api/send-message', { connection_id: link.id, to: group.jid, message: text });
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
      const pid = sent.body.provider_message_id;
      for (const member of [contact, bob]) {
        await eventually(
          async () => (await inbox(member)).some((m: any) => m.id === pid && m.text === text && m.group === group.jid),
          `${member} to decrypt "${text}" in the group`,
        );
      }
    }
    const history = async () => (await t.api.get(`/api/messages/${link.id}/${encodeURIComponent(group.jid)}`)).body as any[];
    const sentToGroup = (await history()).filter((m) => m.direction === 'outbound');
    expect(sentToGroup.map((m) => m.message)).toEqual(['second to the team', 'hello team']);
    // Delivered once every other participant received it (both contacts confirm on decrypting) ...
    const last = sentToGroup[0].provider_message_id;
    const statusOf = async () => (await history()).find((m) => m.provider_message_id === last)?.status;
    await eventually(async () => (await statusOf()) === 'delivered', 'delivered to every participant');
    // ... and read once every one of them read it, not before.
    await phone('POST', `/contacts/${contact}/receipts`, { ids: [last], type: 'read' });
    await new Promise((r) => setTimeout(r, 1000));
    expect(await statusOf()).toBe('delivered');
    await phone('POST', `/contacts/${bob}/receipts`, { ids: [last], type: 'read' });
    await eventually(async () => (await statusOf()) === 'read', 'read by every participant');
    // The chat is named by the group's subject.
    const chats = (await t.api.get(`/api/chats/${link.id}`)).body as any[];
    expect(chats.find((c) => c.chat_id === group.jid)).toMatchObject({ name: 'Team', last_message: 'second to the team' });
  });

  it('receives a group message from a participant, in the group chat, from that participant', async () => {
    const group = await phone('POST', '/groups', { subject: 'Neighbours', participants: [contact, link.number] });
    await phone('POST', `/contacts/${contact}/messages`, { group: group.jid, text: 'hi group' });
    const msg = await eventually(async () => {
      const list = (await t.api.get(`/api/messages/${link.id}/${encodeURIComponent(group.jid)}`)).body as any[];
      return list.find((m) => m.direction === 'inbound' && m.message === 'hi group');
    }, 'the inbound group message');
    expect(msg).toMatchObject({ chat_id: group.jid, from: `${contact}@s.whatsapp.net`, status: 'received' });
    const chat = async () => ((await t.api.get(`/api/chats/${link.id}`)).body as any[]).find((c) => c.chat_id === group.jid);
    expect(await chat()).toMatchObject({ last_message: 'hi group' });
    // The runner did not know this group: it looked its subject up, and the group's next message names the chat.
    await new Promise((r) => setTimeout(r, 500));
    await phone('POST', `/contacts/${contact}/messages`, { group: group.jid, text: 'hi again' });
    await eventually(async () => (await chat())?.last_message === 'hi again', 'the second group message');
    expect(await chat()).toMatchObject({ name: 'Neighbours' });
  });

  it('refuses a group this account is not in, or that does not exist, with 400', async () => {
    const outsiders = await phone('POST', '/groups', { subject: 'Not ours', participants: [contact] });
    const notIn = await t.api.post('/api/send-message', { connection_id: link.id, to: outsiders.jid, message: 'let me in' });
    expectError(notIn, 400, 'invalid_recipient');
    expect(notIn.body.error.message).toMatch(/not a participant/);
    const missing = await t.api.post('/api/send-message', { connection_id: link.id, to: '120363999999999999@g.us', message: 'anyone?' });
    expectError(missing, 400, 'invalid_recipient');
    expect(missing.body.error.message).toMatch(/does not exist/);
    expect((await inbox(contact)).some((m: any) => m.text === 'let me in')).toBe(false);
  });

  it('survives its runner being killed: another runner resumes the session without a new QR', async () => {
    const first = runnersStarted()[0]!;
    first.kill('SIGKILL');
    // With no runner to take it, the API says so instead of showing a connection nobody holds as connected.
    await eventually(async () => {
      const c = await connection(t, link.id);
      return c.status === 'connecting' && c.status_reason === 'runner_unreachable';
    }, 'the connection reported unreachable', 20_000);
    const refused = await t.api.post('/api/send-message', { connection_id: link.id, to: contact, message: 'nobody holds it' });
    expectError(refused, 409, 'connection_not_connected');
    expect(refused.body.error).toMatchObject({ message: expect.stringContaining('reconnecting'), details: { status: 'connecting', status_reason: 'runner_unreachable' } });
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'after the failover' });
    const second = await launchRunner();
    await eventually(async () => {
      const list = (await t.api.get(`/api/messages/${link.id}/${contact}`)).body as any[];
      return list.some((m) => m.message === 'after the failover');
    }, 'the message received on the new runner', 60_000);
    await eventually(async () => (await connection(t, link.id)).status === 'connected', 'connected again', 20_000);
    expect((await connection(t, link.id)).status_reason).toBeNull();
    expect((await t.api.get(`/api/get-qr/${link.id}?wait=0`)).body.qr).toBeNull();
    const sent = await t.api.post('/api/send-message', { connection_id: link.id, to: contact, message: 'sent from the new runner' });
    expect(sent.status).toBe(200);
    await eventually(async () => (await inbox(contact)).some((m) => m.text === 'sent from the new runner'), 'the contact to decrypt it');
    expect(second.child.exitCode).toBeNull();
  }, 90_000);

  it('hands sessions off when a runner drains on SIGTERM', async () => {
    const [, holder] = runnersStarted();
    await launchRunner();
    const code = await holder!.stop(30_000);
    expect(code).toBe(0);
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'after the drain' });
    await eventually(async () => {
      const list = (await t.api.get(`/api/messages/${link.id}/${contact}`)).body as any[];
      return list.some((m) => m.message === 'after the drain');
    }, 'the message received after the drain', 60_000);
  }, 90_000);

  it('logs out: the phone unlinks and the connection is logged_out', async () => {
    const out = await t.api.post(`/api/connections/${link.id}/logout`);
    expect(out.status).toBe(200);
    expect(out.body.status).toBe('logged_out');
    await eventually(async () => (await connection(t, link.id)).status === 'logged_out', 'logged_out');
    expectError(await t.api.post('/api/send-message', { connection_id: link.id, to: contact, message: 'x' }), 409, 'connection_not_connected');
    await eventually(async () => {
      const account = await phone('GET', `/accounts/${link.number}`);
      return account.devices.filter((d: any) => d.id !== 0).length === 0;
    }, 'the phone to drop the linked device');
  });
});

describe('pairing-code login', () => {
  it('links with the code typed on the phone', async () => {
    await launchRunner();
    const t = await newTenant('pair');
    const id = uniqueId('pair');
    const number = phoneNumber();
    await phone('POST', '/accounts', { phone: number, name: 'Pairing phone' });
    await t.api.post('/api/connections', { connection_id: id });
    const res = await t.api.post(`/api/connections/${id}/pairing-code`, { phone_number: `+${number}` });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.code).toMatch(/^[A-Z0-9]{8}$/);
    await phone('POST', `/accounts/${number}/pairing-code`, { code: res.body.code });
    await eventually(async () => (await t.api.get(`/api/connections/${id}`)).body.status === 'connected', 'connected by pairing code');
  }, 90_000);
});
