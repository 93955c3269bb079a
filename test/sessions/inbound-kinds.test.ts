// Messaging parity end to end (issue #14): what contacts send arrives structured (a location, contact cards, a
// poll, a sticker, a quoted reply, a mention), in history, in the webhook and on the realtime stream, and the
// chat actions (mark read, chat states and presence, check-numbers) reach WhatsApp, as the emulator sees it. Real
// Baileys in a real runner against the WhatsApp Web emulator; first, a runner reduced to its protocol shows an
// older runner's events stored in the same shape, and that such a runner is never asked a chat action.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call, closeDatabase, expectError, newTenant, uniqueId } from '../harness/api';
import { ProtocolRunner, connectedThrough, postEvents, type CommandFrame } from '../harness/protocol-runner';
import { Sink } from '../harness/webhook-sink';
import { eventually, launchRunner, linkedConnection, phone, phoneNumber, stopRunners } from '../harness/whatsapp';
import { bearer, openStream, type Stream } from '../realtime/streams';

const sink = new Sink();

beforeAll(async () => {
  await sink.start(inject('webhookSinkPort'));
});

afterAll(async () => {
  await stopRunners();
  await sink.stop();
  await closeDatabase();
});

type Tenant = Awaited<ReturnType<typeof newTenant>>;

describe('the API reference', () => {
  it('documents the content of each type and the new fields of Message', async () => {
    const { schemas } = (await call('GET', '/api/openapi.json')).body.components;
    expect(schemas.Message.required).toEqual(expect.arrayContaining(['reply_to', 'mentions', 'content']));
    expect(schemas.Message.properties.type.description).toMatch(/location.*contacts.*poll/);
    const content = JSON.stringify(schemas.MessageContent);
    expect(schemas.Message.properties.content).toEqual({ $ref: '#/components/schemas/MessageContent' });
    for (const name of ['LocationContent', 'ContactsContent', 'PollContent', 'MediaContent']) expect(content).toContain(name);
    expect(schemas.ContactCard.properties.phones).toBeTruthy();
    expect(schemas.CheckNumbersBody.properties.numbers).toMatchObject({ minItems: 1, maxItems: 50 });
  });
});

describe('a runner that predates structured content and chat actions', () => {
  let runner: ProtocolRunner;
  let t: Tenant;
  let id: string;
  let lease: { pk: string; epoch: number };
  const commands: CommandFrame[] = [];

  beforeAll(async () => {
    runner = await ProtocolRunner.connect(`old-${randomUUID().slice(0, 6)}`, {
      features: ['send-content'],
      onCommand: (frame) => (commands.push(frame), { ok: true, result: {} }),
    });
    t = await newTenant('inbound-old');
    id = uniqueId();
    lease = await connectedThrough(runner, t, id);
  });

  afterAll(async () => {
    await t.api.delete(`/api/connections/${id}`);
    runner.close();
  });

  it('stores the raw content it reports in the shape a newer runner reports', async () => {
    const chat = '15550003333@s.whatsapp.net';
    const message = {
      provider_message_id: `OLD${randomUUID().slice(0, 8)}`,
      chat_id: chat,
      direction: 'inbound' as const,
      from: chat,
      to: '15550001111@s.whatsapp.net',
      push_name: 'Old',
      type: 'pollCreation',
      text: null,
      content: { pollCreationMessage: { name: 'Lunch?', options: [{ optionName: 'Pizza' }, { optionName: 'Sushi' }], selectableOptionsCount: 1, contextInfo: { stanzaId: 'Q0' } } },
      timestamp: new Date().toISOString(),
      source: 'live' as const,
    };
    await postEvents(runner.id, [{ connection_pk: lease.pk, epoch: lease.epoch, events: [{ id: `msg:${message.provider_message_id}`, at: message.timestamp, type: 'message.upsert', message }] }]);
    const stored = await eventually(
      async () => ((await t.api.get(`/api/messages/${id}/${chat}`)).body as any[]).find((m) => m.provider_message_id === message.provider_message_id),
      'the message to be stored',
    );
    expect(stored).toMatchObject({ type: 'poll', content: { name: 'Lunch?', options: ['Pizza', 'Sushi'], selectable_count: 1 }, reply_to: 'Q0', mentions: null });
  });

  it('is never asked a chat action (503 runner_outdated)', async () => {
    expectError(await t.api.post(`/api/connections/${id}/check-numbers`, { numbers: ['15550002222'] }), 503, 'runner_outdated');
    expectError(await t.api.post(`/api/connections/${id}/presence`, { state: 'available' }), 503, 'runner_outdated');
    expectError(await t.api.post(`/api/chats/${id}/15550003333/presence`, { state: 'composing' }), 503, 'runner_outdated');
    expectError(await t.api.post(`/api/chats/${id}/15550003333/read`), 503, 'runner_outdated');
    expect(commands).toEqual([]);
  });
});

describe('received kinds and chat actions through a real runner', () => {
  let t: Tenant;
  let link: { id: string; number: string };
  let hook: { url: string; path: string };
  let stream: Stream;
  const contact = phoneNumber();
  const contactJid = `${contact}@s.whatsapp.net`;

  const history = async () => (await t.api.get(`/api/messages/${link.id}/${contact}`)).body as any[];
  /** The contact sends `message` (proto JSON); answers the message as stored, as the webhook got it, and as realtime told it. */
  const fromContact = async (message: Record<string, unknown>) => {
    const { ids } = await phone('POST', `/contacts/${contact}/messages`, { to: link.number, message });
    const id = ids[0] as string;
    const stored = await eventually(async () => (await history()).find((m) => m.provider_message_id === id), `${id} to be stored`);
    const webhook = await eventually(async () => sink.at(hook.path).find((r) => r.json.provider_message_id === id)?.json, `the webhook of ${id}`);
    const frame = await stream.next((f) => f.event === 'new-message' && f.data.message?.provider_message_id === id, `new-message for ${id}`);
    return { id, stored, webhook, realtime: frame.data.message };
  };
  /** The stored message, and the same in the webhook's data and realtime's message. */
  const expectEverywhere = (got: Awaited<ReturnType<typeof fromContact>>, expected: Record<string, unknown>) => {
    expect(got.stored).toMatchObject(expected);
    expect(got.webhook.data).toEqual(got.stored);
    expect(got.webhook.message_type).toBe(expected.type);
    expect(got.realtime).toEqual(got.stored);
  };

  beforeAll(async () => {
    await launchRunner();
    t = await newTenant('inbound');
    await phone('POST', '/contacts', { phone: contact, name: 'Alice' });
    link = await linkedConnection(t);
    hook = sink.endpoint();
    expect((await t.api.patch(`/api/connections/${link.id}/webhook`, { webhook_url: hook.url })).status).toBe(200);
    stream = await openStream(`/api/realtime?connection_id=${link.id}`, bearer(t.apiKey));
  });

  afterAll(async () => {
    await stream?.close();
  });

  it('a location arrives as { latitude, longitude, name, address }', async () => {
    const got = await fromContact({ locationMessage: { degreesLatitude: 24.8607, degreesLongitude: 67.0011, name: 'Head office', address: 'Shahrah-e-Faisal' } });
    expectEverywhere(got, {
      type: 'location',
      direction: 'inbound',
      message: null,
      content: { latitude: 24.8607, longitude: 67.0011, name: 'Head office', address: 'Shahrah-e-Faisal' },
      reply_to: null,
      mentions: null,
    });
  });

  it('a live location is a location too', async () => {
    const got = await fromContact({ liveLocationMessage: { degreesLatitude: 1.5, degreesLongitude: -2.25 } });
    expectEverywhere(got, { type: 'location', content: { latitude: 1.5, longitude: -2.25, live: true } });
  });

  it('contact cards arrive with their vCards parsed (name, numbers, WhatsApp ids)', async () => {
    const bob = 'BEGIN:VCARD\nVERSION:3.0\nFN:Bob Builder\nTEL;type=CELL;type=VOICE;waid=15550100001:+1 555-010-0001\nEND:VCARD';
    const carol = 'BEGIN:VCARD\nVERSION:3.0\nN:Smith;Carol;;;\nTEL;type=HOME:+44 20 7946 0000\nEND:VCARD';
    const one = await fromContact({ contactMessage: { displayName: 'Bob Builder', vcard: bob } });
    expectEverywhere(one, {
      type: 'contacts',
      content: { contacts: [{ name: 'Bob Builder', phones: [{ number: '+1 555-010-0001', jid: '15550100001@s.whatsapp.net' }], vcard: bob }] },
    });
    const two = await fromContact({ contactsArrayMessage: { displayName: '2 contacts', contacts: [{ displayName: 'Bob Builder', vcard: bob }, { displayName: 'Carol', vcard: carol }] } });
    expectEverywhere(two, {
      type: 'contacts',
      content: {
        contacts: [
          { name: 'Bob Builder', phones: [{ number: '+1 555-010-0001', jid: '15550100001@s.whatsapp.net' }], vcard: bob },
          { name: 'Carol Smith', phones: [{ number: '+44 20 7946 0000', jid: null }], vcard: carol },
        ],
      },
    });
  });

  it('a poll arrives with its options (v1 and v3)', async () => {
    const options = [{ optionName: 'Pizza' }, { optionName: 'Sushi' }, { optionName: 'Salad' }];
    const v3 = await fromContact({ pollCreationMessageV3: { name: 'Lunch?', options, selectableOptionsCount: 1 } });
    expectEverywhere(v3, { type: 'poll', content: { name: 'Lunch?', options: ['Pizza', 'Sushi', 'Salad'], selectable_count: 1 } });
    const v1 = await fromContact({ pollCreationMessage: { name: 'Dinner?', options: options.slice(0, 2), selectableOptionsCount: 0 } });
    expectEverywhere(v1, { type: 'poll', content: { name: 'Dinner?', options: ['Pizza', 'Sushi'], selectable_count: 0 } });
  });

  it('a sticker and a document arrive as file metadata, never their keys', async () => {
    const sha = Buffer.alloc(32, 0xab);
    const sticker = await fromContact({
      stickerMessage: { mimetype: 'image/webp', fileLength: 5120, fileSha256: sha.toString('base64'), width: 512, height: 512, isAnimated: false, mediaKey: Buffer.alloc(32, 1).toString('base64'), directPath: '/v/t62/x' },
    });
    expectEverywhere(sticker, { type: 'sticker', message: null, content: { mimetype: 'image/webp', size: 5120, width: 512, height: 512, animated: false, sha256: sha.toString('hex') } });
    expect(JSON.stringify(sticker.stored)).not.toMatch(/mediaKey|directPath/);
    const doc = await fromContact({ documentMessage: { mimetype: 'application/pdf', fileLength: 48213, fileName: 'brochure.pdf', caption: 'the brochure', fileSha256: sha.toString('base64') } });
    expectEverywhere(doc, { type: 'document', message: 'the brochure', content: { mimetype: 'application/pdf', size: 48213, filename: 'brochure.pdf', sha256: sha.toString('hex') } });
  });

  it('a quoted reply names what it quotes (reply_to), and a mention whom it mentions', async () => {
    const sent = await t.api.post('/api/send-message', { connection_id: link.id, to: contact, message: 'lunch at noon?' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    const ours = sent.body.provider_message_id as string;
    const reply = await fromContact({
      extendedTextMessage: { text: 'yes!', contextInfo: { stanzaId: ours, participant: `${link.number}@s.whatsapp.net`, quotedMessage: { conversation: 'lunch at noon?' } } },
    });
    expectEverywhere(reply, { type: 'text', message: 'yes!', content: null, reply_to: ours, mentions: null });
    const mention = await fromContact({ extendedTextMessage: { text: `ask @${link.number}`, contextInfo: { mentionedJid: [`${link.number}@s.whatsapp.net`] } } });
    expectEverywhere(mention, { type: 'text', message: `ask @${link.number}`, reply_to: null, mentions: [`${link.number}@s.whatsapp.net`] });
  });

  it('our own sends are stored in the same shapes, reply_to and mentions included', async () => {
    const send = async (body: Record<string, unknown>) => {
      const res = await t.api.post('/api/send-message', { connection_id: link.id, to: contact, ...body });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return (await history()).find((m) => m.provider_message_id === res.body.provider_message_id);
    };
    expect(await send({ location: { latitude: 1, longitude: 2, name: 'Here' } })).toMatchObject({ type: 'location', content: { latitude: 1, longitude: 2, name: 'Here' } });
    expect(await send({ poll: { name: 'Q', options: ['a', 'b'] } })).toMatchObject({ type: 'poll', content: { name: 'Q', options: ['a', 'b'], selectable_count: 0 } });
    expect(await send({ contacts: [{ name: 'Bob', phone: '+1 555 010 0001' }] })).toMatchObject({
      type: 'contacts',
      content: { contacts: [{ name: 'Bob', phones: [{ number: '+15550100001', jid: '15550100001@s.whatsapp.net' }] }] },
    });
    const theirs = (await history()).find((m) => m.direction === 'inbound' && m.type === 'location' && m.content.live)!;
    const reply = await send({ message: `right @${contact}`, reply_to: theirs.provider_message_id, mentions: [contact] });
    expect(reply).toMatchObject({ type: 'text', content: null, reply_to: theirs.provider_message_id, mentions: [contactJid] });
    // The quote the contact decrypts is the received (live) location itself (kept beside its structured content).
    const inbox = await eventually(
      async () => ((await phone('GET', `/contacts/${contact}/inbox`)) as any[]).find((m) => m.id === reply.provider_message_id),
      'the contact to decrypt the reply',
    );
    expect(inbox.message.extendedTextMessage.contextInfo).toMatchObject({ stanzaId: theirs.provider_message_id, quotedMessage: { liveLocationMessage: { degreesLatitude: 1.5, degreesLongitude: -2.25 } } });
  });

  it('marking a chat read sends read receipts the contact sees, and leaves nothing unread', async () => {
    const unread: string[] = [];
    for (const text of ['one', 'two']) unread.push((await fromContact({ conversation: text })).id);
    const chat = async () => ((await t.api.get(`/api/chats/${link.id}`)).body as any[]).find((c) => c.chat_id === contactJid);
    expect((await chat()).unread_count).toBeGreaterThanOrEqual(2);
    const res = await t.api.post(`/api/chats/${link.id}/${contact}/read`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ connection_id: link.id, chat_id: contactJid });
    expect(res.body.read).toBeGreaterThanOrEqual(2);
    const receipts = await eventually(async () => {
      const all = ((await phone('GET', '/receipts')) as any[]).filter((r) => r.direction === 'gateway-to-contact' && r.contact === contact && r.type === 'read');
      const ids = all.flatMap((r) => r.ids);
      return unread.every((id) => ids.includes(id)) && all;
    }, 'the contact to see read receipts');
    expect(receipts.length).toBeGreaterThan(0);
    expect((await chat()).unread_count).toBe(0);
    expect((await history()).filter((m) => unread.includes(m.provider_message_id)).map((m) => m.status)).toEqual(['read', 'read']);
    // Nothing left to read: nothing sent, still 200.
    expect((await t.api.post(`/api/chats/${link.id}/${contact}/read`)).body).toMatchObject({ read: 0 });
  });

  it('chat states and presence reach WhatsApp as the emulator records them', async () => {
    const presences = () => phone<any[]>('GET', '/presences');
    for (const state of ['composing', 'recording', 'paused']) {
      const res = await t.api.post(`/api/chats/${link.id}/${contact}/presence`, { state });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({ connection_id: link.id, chat_id: contactJid, state });
    }
    await eventually(async () => {
      const seen = (await presences()).filter((p) => p.kind === 'chatstate' && p.account === link.number && p.to === contactJid).map((p) => p.type);
      return ['composing', 'recording', 'paused'].every((s) => seen.includes(s));
    }, 'the chat states');
    const before = (await presences()).length;
    for (const state of ['unavailable', 'available']) {
      expect((await t.api.post(`/api/connections/${link.id}/presence`, { state })).body).toEqual({ connection_id: link.id, state });
    }
    await eventually(async () => {
      const seen = (await presences()).slice(before).filter((p) => p.kind === 'presence' && p.account === link.number).map((p) => p.type);
      return seen.includes('unavailable') && seen.includes('available');
    }, 'the presences');
    expectError(await t.api.post(`/api/chats/${link.id}/${contact}/presence`, { state: 'available' }), 400, 'validation_failed');
    expectError(await t.api.post(`/api/connections/${link.id}/presence`, { state: 'composing' }), 400, 'validation_failed');
  });

  it('check-numbers answers which numbers are on WhatsApp, under which JID', async () => {
    const stranger = phoneNumber();
    const dialled = `${contact.slice(0, 4)}9${contact.slice(4)}`;
    await phone('POST', '/dialled-numbers', { number: dialled, phone: contact });
    const res = await t.api.post(`/api/connections/${link.id}/check-numbers`, { numbers: [`+${contact}`, stranger, dialled, contact] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({
      connection_id: link.id,
      numbers: [
        { number: `+${contact}`, exists: true, jid: contactJid },
        { number: stranger, exists: false, jid: null },
        { number: dialled, exists: true, jid: contactJid },
        { number: contact, exists: true, jid: contactJid },
      ],
    });
    expectError(await t.api.post(`/api/connections/${link.id}/check-numbers`, { numbers: [] }), 400, 'validation_failed');
    expectError(await t.api.post(`/api/connections/${link.id}/check-numbers`, { numbers: ['0123'] }), 400, 'validation_failed');
    expectError(await t.api.post(`/api/connections/${link.id}/check-numbers`, { numbers: Array.from({ length: 51 }, () => phoneNumber()) }), 400, 'validation_failed');
  });

  it("another tenant's connection is a 404 for every chat action", async () => {
    const other = await newTenant('inbound-other');
    expectError(await other.api.post(`/api/chats/${link.id}/${contact}/read`), 404, 'connection_not_found');
    expectError(await other.api.post(`/api/chats/${link.id}/${contact}/presence`, { state: 'composing' }), 404, 'connection_not_found');
    expectError(await other.api.post(`/api/connections/${link.id}/presence`, { state: 'available' }), 404, 'connection_not_found');
    expectError(await other.api.post(`/api/connections/${link.id}/check-numbers`, { numbers: [contact] }), 404, 'connection_not_found');
  });

  it('check-numbers counts every number against the connection’s limit (429 check_numbers_limited)', async () => {
    // 200 numbers an hour by default; 4 were looked up above.
    const batch = () => Array.from({ length: 50 }, () => phoneNumber());
    const answers: number[] = [];
    for (let i = 0; i < 5 && !answers.includes(429); i++) answers.push((await t.api.post(`/api/connections/${link.id}/check-numbers`, { numbers: batch() })).status);
    expect(answers).toEqual([200, 200, 200, 429]);
    const refused = await t.api.post(`/api/connections/${link.id}/check-numbers`, { numbers: [contact] });
    expect(refused.status).toBe(200); // one number still fits the 46 left
    const full = await t.api.post(`/api/connections/${link.id}/check-numbers`, { numbers: batch() });
    expectError(full, 429, 'check_numbers_limited');
    expect(Number(full.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
