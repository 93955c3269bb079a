// The richer kinds of POST /api/send-message end to end: sent through the public API, by a real runner with
// real Baileys, to the WhatsApp Web emulator, whose contacts decrypt what arrives. Each test reads the
// proto message the contact decrypted (a locationMessage, a reactionMessage with the right key, …). First, a
// runner reduced to its protocol shows that a runner too old for these kinds is never asked to send them.
import { createServer } from 'node:http';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call, closeDatabase, expectError, newTenant, uniqueId } from '../harness/api';
import { olderRunnerConnection } from '../harness/protocol-runner';
import { eventually, launchRunner, linkedConnection, phone, phoneNumber, stopRunners } from '../harness/whatsapp';

afterAll(async () => {
  await stopRunners();
  await closeDatabase();
});

type Tenant = Awaited<ReturnType<typeof newTenant>>;
type Entry = { id: string; text?: string; group?: string; media?: { type: string; sha256: boolean }; message: Record<string, any> };

const inbox = (contact: string): Promise<Entry[]> => phone('GET', `/contacts/${contact}/inbox`);
/** What `contact` decrypted under this id, once it has. */
const received = (contact: string, id: string) =>
  eventually(async () => (await inbox(contact)).find((m) => m.id === id), `${contact} to decrypt ${id}`);

describe('the API reference', () => {
  it('documents every kind on send-message, the seed fields unchanged', async () => {
    const { schemas } = (await call('GET', '/api/openapi.json')).body.components;
    const body = schemas.SendMessageBody;
    expect(body.required).toEqual(['connection_id', 'to']);
    expect(Object.keys(body.properties)).toEqual(['connection_id', 'to', 'message', 'client_message_id', 'media', 'sticker', 'location', 'contacts', 'poll', 'reaction', 'forward', 'reply_to', 'mentions', 'link_preview']);
    expect(body.properties.location).toEqual({ $ref: '#/components/schemas/SendLocation' });
    for (const name of ['contacts', 'reply_to', 'mentions']) expect(body.properties[name].description, name).toBeTruthy();
    expect(schemas.SendPoll.properties.options).toMatchObject({ minItems: 2, maxItems: 12 });
    expect(schemas.SendLocation.properties.latitude).toMatchObject({ minimum: -90, maximum: 90 });
    expect(schemas.SendReaction.properties.emoji.description).toMatch(/empty removes/);
  });
});

describe('a runner that predates the richer kinds', () => {
  // A protocol-1 runner drops the fields it does not know (zod strips them): asked to send a location it
  // would send an empty text. It says no features in its hello, so it is never asked.
  let t: Tenant;
  let older: Awaited<ReturnType<typeof olderRunnerConnection>>;

  beforeAll(async () => {
    t = await newTenant('kinds-old');
    older = await olderRunnerConnection(t, { result: { timestamp: new Date().toISOString() } });
  });
  afterAll(async () => older?.close());

  it('is not asked to send a kind it does not know (503 runner_outdated, the row failed), and still sends texts', async () => {
    for (const body of [{ location: { latitude: 1, longitude: 2 } }, { message: 'hi @15550002222', mentions: ['15550002222'] }]) {
      const res = await t.api.post('/api/send-message', { connection_id: older.id, to: '15550002222', ...body });
      expectError(res, 503, 'runner_outdated');
    }
    expect(older.commands).toEqual([]);
    const history = (await t.api.get(`/api/messages/${older.id}/15550002222`)).body as any[];
    expect(history.map((m) => [m.type, m.status])).toEqual([['text', 'failed'], ['location', 'failed']]);
    const text = await t.api.post('/api/send-message', { connection_id: older.id, to: '15550002222', message: 'plain' });
    expect(text.status, JSON.stringify(text.body)).toBe(200);
    expect(older.commands.map((f) => f.command)).toEqual([{ name: 'send', to: '15550002222@s.whatsapp.net', text: 'plain', message_id: text.body.provider_message_id }]);
  });
});

describe('sending the richer message kinds', () => {
  let t: Tenant;
  let link: { id: string; number: string };
  const contact = phoneNumber();
  const contactJid = `${contact}@s.whatsapp.net`;

  const send = async (body: Record<string, unknown>) => {
    const res = await t.api.post('/api/send-message', { connection_id: link.id, to: contact, ...body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.provider_message_id as string;
  };
  const history = async (to = contact) => (await t.api.get(`/api/messages/${link.id}/${encodeURIComponent(to)}`)).body as any[];
  /** A message the contact sends us, once it is stored: its provider_message_id. */
  const fromContact = async (text: string, opts: { as?: string; group?: string } = {}) => {
    const sender = opts.as ?? contact;
    const { ids } = await phone('POST', `/contacts/${sender}/messages`, opts.group ? { group: opts.group, text } : { to: link.number, text });
    await eventually(async () => (await history(opts.group ?? sender)).some((m) => m.provider_message_id === ids[0]), 'the message to be stored');
    return ids[0] as string;
  };

  beforeAll(async () => {
    await launchRunner();
    t = await newTenant('kinds');
    await phone('POST', '/contacts', { phone: contact, name: 'Alice' });
    link = await linkedConnection(t);
  });

  it('sends a location the contact decrypts as a locationMessage, kept in history as a location', async () => {
    const location = { latitude: 24.8607, longitude: 67.0011, name: 'Head office', address: 'Shahrah-e-Faisal, Karachi' };
    const id = await send({ location });
    const { message } = await received(contact, id);
    expect(message.locationMessage).toMatchObject({ degreesLatitude: 24.8607, degreesLongitude: 67.0011, name: 'Head office', address: location.address });
    expect((await history()).find((m) => m.provider_message_id === id)).toMatchObject({ type: 'location', content: location });
  });

  it('sends contact cards with the vCards the gateway wrote: one as a contactMessage, several as a contactsArrayMessage', async () => {
    const one = await send({ contacts: [{ name: 'Bob, the builder', phone: '+1 555 010-0001' }] });
    const card = (await received(contact, one)).message.contactMessage;
    expect(card.displayName).toBe('Bob, the builder');
    expect(card.vcard).toMatch(/^BEGIN:VCARD\n/);
    expect(card.vcard).toContain('FN:Bob\\, the builder');
    expect(card.vcard).toContain('TEL;type=CELL;type=VOICE;waid=15550100001:+15550100001');
    expect(card.vcard).toMatch(/\nEND:VCARD$/);

    const two = await send({ contacts: [{ name: 'Carol', phone: '15550100002' }, { name: 'Dan', phone: '15550100003' }] });
    const cards = (await received(contact, two)).message.contactsArrayMessage;
    expect(cards.displayName).toBe('2 contacts');
    expect(cards.contacts.map((c: any) => c.displayName)).toEqual(['Carol', 'Dan']);
    expect(cards.contacts[1].vcard).toContain('waid=15550100003:+15550100003');
    expect((await history()).find((m) => m.provider_message_id === two)).toMatchObject({ type: 'contacts' });
  });

  it('reacts to a message the contact sent and to one we sent, and removes a reaction with an empty emoji', async () => {
    const theirs = await fromContact('react to me');
    const r1 = await send({ reaction: { message_id: theirs, emoji: '👍' } });
    const reaction = (await received(contact, r1)).message.reactionMessage;
    expect(reaction.text).toBe('👍');
    expect(reaction.key).toMatchObject({ id: theirs, remoteJid: contactJid });
    expect(reaction.key.fromMe ?? false).toBe(false);

    const ours = await send({ message: 'our own message' });
    const r2 = await send({ reaction: { message_id: ours, emoji: '❤️' } });
    expect((await received(contact, r2)).message.reactionMessage.key).toMatchObject({ id: ours, fromMe: true, remoteJid: contactJid });

    const removed = await send({ reaction: { message_id: ours, emoji: '' } });
    const cleared = (await received(contact, removed)).message.reactionMessage;
    expect(cleared.key.id).toBe(ours);
    expect(cleared.text ?? '').toBe('');
    expect((await history()).find((m) => m.provider_message_id === r2)).toMatchObject({ type: 'reaction', message: '❤️' });
  });

  it('replies quoting a message: the contact sees its stanzaId and what it said', async () => {
    const theirs = await fromContact('what time is it?');
    const id = await send({ message: 'noon', reply_to: theirs });
    const { message } = await received(contact, id);
    expect(message.extendedTextMessage.text).toBe('noon');
    expect(message.extendedTextMessage.contextInfo).toMatchObject({ stanzaId: theirs, participant: contactJid, quotedMessage: { conversation: 'what time is it?' } });
    expect((await history()).find((m) => m.provider_message_id === id)).toMatchObject({ type: 'text', message: 'noon', content: null, reply_to: theirs });

    // A reply can be any kind: here a location quoting our own earlier text.
    const ours = await send({ message: 'where are you?' });
    const located = await send({ location: { latitude: 1.5, longitude: -2.25 }, reply_to: ours });
    const info = (await received(contact, located)).message.locationMessage.contextInfo;
    expect(info).toMatchObject({ stanzaId: ours, quotedMessage: { conversation: 'where are you?' } });
    // Quoting our own location shows the location in the quote bar (rebuilt from what history keeps).
    const answer = await send({ message: 'here I am', reply_to: located });
    const quoted = (await received(contact, answer)).message.extendedTextMessage.contextInfo;
    expect(quoted).toMatchObject({ stanzaId: located, quotedMessage: { locationMessage: { degreesLatitude: 1.5, degreesLongitude: -2.25 } } });
  });

  it('mentions people in a text: the contact sees their JIDs', async () => {
    const other = phoneNumber();
    const id = await send({ message: `hi @${contact} and @${other}`, mentions: [contact, `+${other}`] });
    const { message } = await received(contact, id);
    expect(message.extendedTextMessage.text).toBe(`hi @${contact} and @${other}`);
    expect(message.extendedTextMessage.contextInfo.mentionedJid).toEqual([contactJid, `${other}@s.whatsapp.net`]);
  });

  it('sends polls with their options, single and multiple choice', async () => {
    const single = await send({ poll: { name: 'Lunch?', options: ['Pizza', 'Sushi', 'Salad'], selectable_count: 1 } });
    const v3 = (await received(contact, single)).message.pollCreationMessageV3;
    expect(v3).toMatchObject({ name: 'Lunch?', selectableOptionsCount: 1 });
    expect(v3.options.map((o: any) => o.optionName)).toEqual(['Pizza', 'Sushi', 'Salad']);

    const multi = await send({ poll: { name: 'Which days?', options: ['Mon', 'Tue'] } });
    const poll = (await received(contact, multi)).message.pollCreationMessage;
    expect(poll.options.map((o: any) => o.optionName)).toEqual(['Mon', 'Tue']);
    expect(poll.selectableOptionsCount ?? 0).toBe(0);
    expect((await history()).find((m) => m.provider_message_id === multi)).toMatchObject({ type: 'poll', message: 'Which days?' });
  });

  it('sends a WebP sticker the contact fetches and decrypts intact, and refuses one that is not WebP', async () => {
    const webp = await sharp({ create: { width: 96, height: 96, channels: 4, background: { r: 200, g: 30, b: 90, alpha: 0.5 } } }).webp().toBuffer();
    const id = await send({ sticker: { base64: webp.toString('base64') }, client_message_id: `s-${uniqueId()}` });
    const entry = await received(contact, id);
    expect(entry.message.stickerMessage).toMatchObject({ mimetype: 'image/webp' });
    expect(entry.media).toMatchObject({ type: 'sticker', sha256: true });
    const file = Buffer.from(await (await fetch(`${inject('emulatorControlUrl')}/contacts/${contact}/media/${id}`)).arrayBuffer());
    expect(file.equals(webp)).toBe(true);
    expect((await history()).find((m) => m.provider_message_id === id)).toMatchObject({ type: 'sticker', message: null, content: { mimetype: 'image/webp', size: webp.length } });

    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } }).png().toBuffer();
    const refused = await t.api.post('/api/send-message', { connection_id: link.id, to: contact, sticker: { base64: png.toString('base64') } });
    expectError(refused, 400, 'validation_failed');
    expect(refused.body.error.message).toMatch(/WebP/);

    // From a URL the Worker fetches: the same check on the bytes it got, whatever the server calls them.
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'image/webp' });
      res.end(req.url === '/sticker.webp' ? webp : png);
    });
    await new Promise<void>((resolve) => server.listen(inject('mediaServerPort'), '127.0.0.1', resolve));
    try {
      const files = `http://127.0.0.1:${inject('mediaServerPort')}`;
      const fetched = await send({ sticker: { url: `${files}/sticker.webp` } });
      expect((await received(contact, fetched)).media).toMatchObject({ type: 'sticker', sha256: true });
      const notWebp = await t.api.post('/api/send-message', { connection_id: link.id, to: contact, sticker: { url: `${files}/fake.webp` } });
      expectError(notWebp, 400, 'validation_failed');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expectError(await t.api.post('/api/send-message', { connection_id: link.id, to: contact, message: 'hi', sticker: { base64: webp.toString('base64') } }), 400, 'validation_failed');
  });

  it('forwards a stored message from another chat, marked forwarded; refuses our own non-text sends', async () => {
    const carol = phoneNumber();
    await phone('POST', '/contacts', { phone: carol, name: 'Carol' });
    const theirs = await fromContact('worth passing on');
    const res = await t.api.post('/api/send-message', { connection_id: link.id, to: carol, forward: { message_id: theirs } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const { message } = await received(carol, res.body.provider_message_id);
    expect(message.extendedTextMessage).toMatchObject({ text: 'worth passing on', contextInfo: { isForwarded: true, forwardingScore: 1 } });
    expect((await history(carol)).find((m) => m.provider_message_id === res.body.provider_message_id)).toMatchObject({
      type: 'text',
      message: 'worth passing on',
      content: null,
    });

    const located = await send({ location: { latitude: 3, longitude: 4 } });
    expectError(await t.api.post('/api/send-message', { connection_id: link.id, to: carol, forward: { message_id: located } }), 400, 'message_not_forwardable');
    expectError(await t.api.post('/api/send-message', { connection_id: link.id, to: carol, forward: { message_id: '3EB0NEVERSEEN' } }), 400, 'unknown_message');
  });

  it("previews a text's link from the page the Worker read, unless link_preview is false or the page gives nothing", async () => {
    const server = createServer((req, res) => {
      if (req.url === '/page') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end('<html><head><meta property="og:title" content="Spring sale"><meta property="og:description" content="Everything 20% off"></head></html>');
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(inject('mediaServerPort'), '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${inject('mediaServerPort')}/page`;
      const res = await t.api.post('/api/send-message', { connection_id: link.id, to: contact, message: `Look: ${url}!` });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.headers.get('server-timing')).toMatch(/preview;dur=\d+/);
      const { message } = await received(contact, res.body.provider_message_id);
      expect(message.extendedTextMessage).toMatchObject({ text: `Look: ${url}!`, matchedText: url, title: 'Spring sale', description: 'Everything 20% off' });

      const off = await send({ message: `again ${url}`, link_preview: false });
      expect((await received(contact, off)).message.extendedTextMessage?.title).toBeUndefined();
      const missing = await send({ message: `gone http://127.0.0.1:${inject('mediaServerPort')}/nothing` });
      expect((await received(contact, missing)).text).toBe(`gone http://127.0.0.1:${inject('mediaServerPort')}/nothing`);
      expect((await received(contact, missing)).message.extendedTextMessage?.title).toBeUndefined();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reacts to a group message with the key of its sender', async () => {
    const bob = phoneNumber();
    await phone('POST', '/contacts', { phone: bob, name: 'Bob' });
    const group = await phone('POST', '/groups', { subject: 'Kinds', participants: [link.number, contact, bob] });
    const bobs = await fromContact('in the group', { as: bob, group: group.jid });
    const res = await t.api.post('/api/send-message', { connection_id: link.id, to: group.jid, reaction: { message_id: bobs, emoji: '🎉' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const reaction = (await received(contact, res.body.provider_message_id)).message.reactionMessage;
    expect(reaction.key).toMatchObject({ id: bobs, remoteJid: group.jid, participant: `${bob}@s.whatsapp.net` });
  });

  it('refuses what it cannot send with 400, sending nothing', async () => {
    const bad = async (body: Record<string, unknown>, code: string, field?: string) => {
      const res = await t.api.post('/api/send-message', { connection_id: link.id, to: contact, ...body });
      expectError(res, 400, code);
      if (field) expect(JSON.stringify(res.body.error.details), JSON.stringify(res.body)).toContain(field);
    };
    await bad({ location: { latitude: 1, longitude: 2 }, poll: { name: 'x', options: ['a', 'b'] } }, 'validation_failed', 'one content kind');
    await bad({ message: 'caption?', location: { latitude: 1, longitude: 2 } }, 'validation_failed', 'takes no message');
    await bad({ location: { latitude: 91, longitude: 2 } }, 'validation_failed', 'latitude');
    await bad({ location: { latitude: 1, longitude: -180.5 } }, 'validation_failed', 'longitude');
    await bad({ poll: { name: 'x', options: ['only one'] } }, 'validation_failed', 'options');
    await bad({ poll: { name: 'x', options: ['same', 'same'] } }, 'validation_failed', 'unique');
    await bad({ poll: { name: 'x', options: ['a', 'b'], selectable_count: 3 } }, 'validation_failed', 'selectable_count');
    await bad({ contacts: [] }, 'validation_failed', 'contacts');
    await bad({ contacts: [{ name: 'x', phone: 'not a number' }] }, 'validation_failed', 'phone');
    await bad({ message: 'hi', mentions: [contact] }, 'validation_failed', 'must mention');
    await bad({ reaction: { message_id: 'x', emoji: '👍' }, reply_to: 'y' }, 'validation_failed', 'reply_to');
    await bad({ message: 'hi', reply_to: '3EB0NEVERSEEN' }, 'unknown_message');
    await bad({ reaction: { message_id: '3EB0NEVERSEEN', emoji: '👍' } }, 'unknown_message');
    // A message of another chat is not one of this chat.
    const other = phoneNumber();
    await phone('POST', '/contacts', { phone: other, name: 'Other' });
    const elsewhere = await fromContact('elsewhere', { as: other });
    await bad({ reaction: { message_id: elsewhere, emoji: '👍' } }, 'unknown_message');
    expect((await history()).filter((m) => m.status === 'failed')).toEqual([]);
  });

  it('keeps idempotency: a retry sends once, the same id with another location or poll is refused', async () => {
    const client_message_id = `k-${uniqueId()}`;
    const body = { location: { latitude: 10, longitude: 20, name: 'Here' }, client_message_id };
    const first = await send(body);
    // The same request written in another key order is the same request.
    expect(await send({ client_message_id, location: { name: 'Here', longitude: 20, latitude: 10 } })).toBe(first);
    expectError(await t.api.post('/api/send-message', { connection_id: link.id, to: contact, ...body, location: { latitude: 10, longitude: 21 } }), 409, 'idempotency_key_reused');
    expectError(await t.api.post('/api/send-message', { connection_id: link.id, to: contact, client_message_id, poll: { name: 'x', options: ['a', 'b'] } }), 409, 'idempotency_key_reused');
    await received(contact, first);
    await new Promise((r) => setTimeout(r, 500));
    expect((await inbox(contact)).filter((m) => m.id === first)).toHaveLength(1);

    const quoted = await fromContact('quote me twice');
    const reply = { message: 'once', reply_to: quoted, client_message_id: `k-${uniqueId()}` };
    const r = await send(reply);
    expect(await send(reply)).toBe(r);
    expectError(await t.api.post('/api/send-message', { connection_id: link.id, to: contact, ...reply, reply_to: first }), 409, 'idempotency_key_reused');
  });
});
