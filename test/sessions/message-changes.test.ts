// Changes to messages already sent, end to end with real Baileys against the emulator: a contact edits,
// revokes, reacts and votes (the emulator builds each as WhatsApp's apps do, a vote encrypted with the
// poll's secret) and the stored message, the webhook and both realtime channels show it; a contact cannot
// rewrite or revoke someone else's message; PATCH and DELETE through the API reach the contact as a
// protocolMessage with the right key; WhatsApp's 15-minute edit window is kept.
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { messages } from '../../drizzle/schema';
import { call, closeDatabase, database, expectError, newTenant } from '../harness/api';
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
const alice = phoneNumber();
const bob = phoneNumber();
const aliceJid = `${alice}@s.whatsapp.net`;

beforeAll(async () => {
  await sink.start(inject('webhookSinkPort'));
  await launchRunner();
  t = await newTenant('changes');
  await phone('POST', '/contacts', { phone: alice, name: 'Alice' });
  await phone('POST', '/contacts', { phone: bob, name: 'Bob' });
  observed = await observedConnection(t, sink, ['message.updated', 'message.deleted']);
  ({ link, hook, stream, socketEvents } = observed);
});

afterAll(async () => {
  await observed?.close();
  await stopRunners();
  await sink.stop();
  await closeDatabase();
});

const history = async (chat: string) => (await t.api.get(`/api/messages/${link.id}/${encodeURIComponent(chat)}`)).body as any[];
const stored = (chat: string, id: string, until: (m: any) => boolean, what: string) =>
  eventually(async () => (await history(chat)).find((m) => m.provider_message_id === id && until(m)), what);
const change = (from: string, body: Record<string, unknown>) => phone<{ id: string }>('POST', `/contacts/${from}/message-changes`, body);
const fromContact = async (from: string, text: string, opts: { group?: string } = {}) => {
  const { ids } = await phone('POST', `/contacts/${from}/messages`, opts.group ? { group: opts.group, text } : { to: link.number, text });
  await stored(opts.group ?? `${from}@s.whatsapp.net`, ids[0], () => true, 'the message to be stored');
  return ids[0] as string;
};
const send = async (to: string, body: Record<string, unknown>) => {
  const res = await t.api.post('/api/send-message', { connection_id: link.id, to, ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.provider_message_id as string;
};
const webhooks = (event: string, id: string) => sink.at(hook.path).filter((r) => r.json.event === event && r.json.provider_message_id === id);
const webhook = (event: string, id: string, what: string, match: (b: any) => boolean = () => true) =>
  eventually(async () => webhooks(event, id).find((r) => match(r.json))?.json, what);
const socketEvent = (event: string, id: string, match: (d: any) => boolean = () => true) =>
  eventually(async () => socketEvents.find((e) => e.event === event && e.data.providerMessageId === id && match(e.data))?.data, `socket.io ${event}`);
const inbox = (contact: string) => phone<any[]>('GET', `/contacts/${contact}/inbox`);
const received = (contact: string, match: (e: any) => boolean, what: string) => eventually(async () => (await inbox(contact)).find(match), what);

describe('the API reference', () => {
  it('documents the new routes, webhooks and Message fields, the seed shapes unchanged', async () => {
    const doc = (await call('GET', '/api/openapi.json')).body;
    const ops = doc.paths['/api/messages/{connection_id}/{chat_id}/{message_id}'];
    expect(Object.keys(ops).sort()).toEqual(['delete', 'patch']);
    expect(ops.patch['x-required-scope']).toBe('send');
    expect(ops.delete['x-required-scope']).toBe('send');
    expect(Object.keys(doc.webhooks)).toEqual(expect.arrayContaining(['message.updated', 'message.deleted']));
    const message = doc.components.schemas.Message;
    expect(Object.keys(message.properties)).toEqual(expect.arrayContaining(['edited_at', 'deleted_at', 'edits', 'reactions', 'poll_votes']));
    expect(Object.keys(message.properties).slice(0, 3)).toEqual(['id', 'connection_id', 'chat_id']);
    const received = doc.components.schemas.MessageReceivedWebhook.properties;
    for (const seed of ['from', 'message', 'provider_message_id', 'connection_id']) expect(received[seed], seed).toBeDefined();
  });
});

describe('changes a contact makes', () => {
  it('an edit replaces the text, keeps the old one in edits, and is told by webhook and both realtime channels', async () => {
    const id = await fromContact(alice, 'helo');
    await change(alice, { kind: 'edit', to: link.number, target: id, text: 'hello' });
    const m = await stored(aliceJid, id, (x) => x.message === 'hello', 'the edit to be stored');
    expect(m.edited_at).toBeTruthy();
    expect(m.edits).toEqual([{ message: 'helo', replaced_at: m.edited_at }]);
    const body = await webhook('message.updated', id, 'the message.updated webhook');
    expect(body).toMatchObject({ change: 'edit', by: alice, message: 'hello', chat_id: aliceJid, data: { edits: [{ message: 'helo' }] } });
    const frame = await stream.next((f) => f.event === 'message-updated' && f.data.providerMessageId === id, 'message-updated frame');
    expect(frame.data).toMatchObject({ connectionId: link.id, chatId: aliceJid, change: 'edit', message: { message: 'hello' } });
    expect(await socketEvent('message-updated', id)).toMatchObject({ change: 'edit' });
  });

  it('a revoke marks the message deleted, its text still readable, told as message.deleted', async () => {
    const id = await fromContact(alice, 'oops, wrong chat');
    await change(alice, { kind: 'revoke', to: link.number, target: id });
    const m = await stored(aliceJid, id, (x) => x.deleted_at !== null, 'the revoke to be stored');
    expect(m.message).toBe('oops, wrong chat');
    expect(await webhook('message.deleted', id, 'the message.deleted webhook')).toMatchObject({ scope: 'everyone', by: alice, data: { deleted_at: m.deleted_at } });
    await stream.next((f) => f.event === 'message-deleted' && f.data.providerMessageId === id, 'message-deleted frame');
    expect(await socketEvent('message-deleted', id)).toMatchObject({ scope: 'everyone' });
  });

  it("a contact cannot rewrite or revoke our message, nor another member's in a group", async () => {
    const ours = await send(alice, { message: 'our words' });
    await stored(aliceJid, ours, () => true, 'our message');
    await change(alice, { kind: 'edit', to: link.number, target: ours, targetSender: alice, text: 'hijacked' });
    await change(alice, { kind: 'revoke', to: link.number, target: ours, targetSender: alice });
    const group = await phone('POST', '/groups', { subject: 'Changes', participants: [link.number, alice, bob], creator: bob });
    const bobs = await fromContact(bob, "bob's words", { group: group.jid });
    await change(alice, { kind: 'edit', group: group.jid, target: bobs, targetSender: alice, text: 'hijacked' });
    await change(alice, { kind: 'revoke', group: group.jid, target: bobs, targetSender: bob });
    // A marker after them: once it is stored, the refused changes (sent before it, in order) were handled.
    const marker = await fromContact(alice, 'marker');
    await change(alice, { kind: 'reaction', to: link.number, target: marker, emoji: '✅' });
    await stored(aliceJid, marker, (x) => x.reactions.length === 1, 'the marker reaction');
    expect((await history(aliceJid)).find((x) => x.provider_message_id === ours)).toMatchObject({ message: 'our words', edited_at: null, deleted_at: null, edits: [] });
    expect((await history(group.jid)).find((x) => x.provider_message_id === bobs)).toMatchObject({ message: "bob's words", edited_at: null, deleted_at: null });
    expect(webhooks('message.updated', ours).concat(webhooks('message.deleted', ours), webhooks('message.updated', bobs), webhooks('message.deleted', bobs))).toEqual([]);
    // Bob, the group's creator (its admin), may revoke Alice's message there.
    const alices = await fromContact(alice, 'alice in the group', { group: group.jid });
    await change(bob, { kind: 'revoke', group: group.jid, target: alices, targetSender: alice });
    const m = await stored(group.jid, alices, (x) => x.deleted_at !== null, "the admin's revoke");
    expect(await webhook('message.deleted', alices, 'the admin revoke webhook')).toMatchObject({ by: bob, is_group: true, data: { id: m.id } });
  });

  it('an edit that arrives before its message is kept and applied when the message comes', async () => {
    const id = `3EB0${randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase()}`;
    await change(alice, { kind: 'edit', to: link.number, target: id, text: 'the edited text' });
    // A marker after the edit: once it is stored, the edit (sent before it, in order) was handled, and kept.
    await fromContact(alice, 'marker before the message');
    expect((await history(aliceJid)).some((m) => m.provider_message_id === id)).toBe(false);
    await phone('POST', `/contacts/${alice}/messages`, { to: link.number, text: 'the first text', id });
    const m = await stored(aliceJid, id, (x) => x.message === 'the edited text', 'the kept edit to be applied');
    expect(m.edits).toEqual([{ message: 'the first text', replaced_at: m.edited_at }]);
    expect(await webhook('message.updated', id, 'the late-applied edit webhook')).toMatchObject({ change: 'edit', message: 'the edited text' });
  });

  it('reactions attach to their message: one per person, replaced, removed, ours too', async () => {
    const id = await fromContact(alice, 'react to this');
    await change(alice, { kind: 'reaction', to: link.number, target: id, emoji: '👍' });
    await stored(aliceJid, id, (x) => x.reactions.some((r: any) => r.emoji === '👍'), 'the reaction');
    await change(alice, { kind: 'reaction', to: link.number, target: id, emoji: '😂' });
    await send(alice, { reaction: { message_id: id, emoji: '❤️' } });
    const both = await stored(aliceJid, id, (x) => x.reactions.length === 2 && x.reactions.some((r: any) => r.emoji === '😂'), 'both reactions');
    expect(both.reactions.map((r: any) => [r.from, r.emoji]).sort()).toEqual([[aliceJid, '😂'], [null, '❤️']].sort());
    await change(alice, { kind: 'reaction', to: link.number, target: id, emoji: '' });
    const after = await stored(aliceJid, id, (x) => x.reactions.length === 1, 'the reaction removed');
    expect(after.reactions).toMatchObject([{ from: null, emoji: '❤️' }]);
    expect(await webhook('message.updated', id, 'a reaction webhook', (b) => b.change === 'reaction')).toMatchObject({ by: alice });
  });

  it('votes in a poll a contact created, and in one we sent, tally into poll_votes (each voter once)', async () => {
    const group = await phone('POST', '/groups', { subject: 'Polls', participants: [link.number, alice, bob] });
    const { id: theirs } = await change(alice, { kind: 'poll', group: group.jid, poll: { name: 'Lunch?', options: ['Pizza', 'Sushi'] } });
    await stored(group.jid, theirs, () => true, 'the poll to be stored');
    await change(bob, { kind: 'vote', group: group.jid, target: theirs, options: ['Pizza'] });
    await change(alice, { kind: 'vote', group: group.jid, target: theirs, options: ['Pizza', 'Sushi'] });
    await change(bob, { kind: 'vote', group: group.jid, target: theirs, options: ['Sushi'] });
    const tallied = await stored(group.jid, theirs, (x) => x.poll_votes?.find((o: any) => o.option === 'Sushi')?.count === 2, 'the votes');
    expect(tallied.poll_votes).toEqual([
      { option: 'Pizza', count: 1, voters: [`${alice}@s.whatsapp.net`] },
      { option: 'Sushi', count: 2, voters: [`${alice}@s.whatsapp.net`, `${bob}@s.whatsapp.net`] },
    ]);
    expect(await webhook('message.updated', theirs, 'a vote webhook', (b) => b.change === 'poll_vote')).toBeTruthy();

    const ours = await send(alice, { poll: { name: 'Meet when?', options: ['Mon', 'Tue', 'Wed'] } });
    await received(alice, (e) => e.id === ours, 'alice to receive our poll');
    await change(alice, { kind: 'vote', to: link.number, target: ours, options: ['Tue'] });
    const voted = await stored(aliceJid, ours, (x) => x.poll_votes?.some((o: any) => o.count > 0), 'the vote on our poll');
    expect(voted.poll_votes).toEqual([
      { option: 'Mon', count: 0, voters: [] },
      { option: 'Tue', count: 1, voters: [aliceJid] },
      { option: 'Wed', count: 0, voters: [] },
    ]);
  });
});

describe('editing and deleting through the API', () => {
  it('PATCH edits our text: the contact decrypts a MESSAGE_EDIT with its key; stored and told once', async () => {
    const id = await send(alice, { message: 'see you at 5' });
    const res = await t.api.patch(`/api/messages/${link.id}/${alice}/${id}`, { message: 'see you at 6' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ provider_message_id: id, message: 'see you at 6', edits: [{ message: 'see you at 5' }] });
    expect(res.body.edited_at).toBeTruthy();
    const edit = await received(alice, (e) => e.message.protocolMessage?.key?.id === id, 'alice to decrypt the edit');
    expect(edit.message.protocolMessage).toMatchObject({ type: 14 /* MESSAGE_EDIT */, key: { id, fromMe: true, remoteJid: aliceJid } });
    expect(edit.message.protocolMessage.editedMessage.conversation ?? edit.message.protocolMessage.editedMessage.extendedTextMessage?.text).toBe('see you at 6');
    await webhook('message.updated', id, 'the edit webhook');
    // The runner's echo of its own edit changes nothing more: one edit, one delivery.
    const marker = await fromContact(alice, 'after the edit');
    await change(alice, { kind: 'reaction', to: link.number, target: marker, emoji: '👀' });
    await stored(aliceJid, marker, (x) => x.reactions.length === 1, 'the marker');
    expect((await history(aliceJid)).find((m) => m.provider_message_id === id).edits).toHaveLength(1);
    expect(webhooks('message.updated', id)).toHaveLength(1);
  });

  it('PATCH refuses what WhatsApp would: past 15 minutes, a received message, a non-text, an unknown id, another tenant', async () => {
    const old = await send(alice, { message: 'long ago' });
    // Once WhatsApp's answers are in (they set sent_at, after the API answered), it is made 16 minutes old.
    await eventually(async () => {
      const [row] = await database().select({ status: messages.status }).from(messages).where(eq(messages.providerMessageId, old));
      return row?.status === 'delivered' || row?.status === 'read';
    }, 'the send to be delivered');
    await database().update(messages).set({ sentAt: new Date(Date.now() - 16 * 60_000) }).where(eq(messages.providerMessageId, old));
    expectError(await t.api.patch(`/api/messages/${link.id}/${alice}/${old}`, { message: 'too late' }), 409, 'edit_window_closed');
    const theirs = await fromContact(alice, 'not yours');
    expectError(await t.api.patch(`/api/messages/${link.id}/${alice}/${theirs}`, { message: 'x' }), 409, 'not_own_message');
    const location = await send(alice, { location: { latitude: 1, longitude: 2 } });
    expectError(await t.api.patch(`/api/messages/${link.id}/${alice}/${location}`, { message: 'x' }), 409, 'message_not_editable');
    expectError(await t.api.patch(`/api/messages/${link.id}/${alice}/NO_SUCH_ID`, { message: 'x' }), 404, 'not_found');
    expectError(await t.api.patch(`/api/messages/${link.id}/${alice}/${old}`, { message: '' }), 400, 'validation_failed');
    const other = await newTenant('changes-other');
    expectError(await other.api.patch(`/api/messages/${link.id}/${alice}/${theirs}`, { message: 'x' }), 404, 'connection_not_found');
    expectError(await other.api.delete(`/api/messages/${link.id}/${alice}/${theirs}`), 404, 'connection_not_found');
  });

  it('DELETE revokes ours for everyone (the contact decrypts a REVOKE); ?for=me only marks it here', async () => {
    const id = await send(alice, { message: 'unsend me' });
    const res = await t.api.delete(`/api/messages/${link.id}/${alice}/${id}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.deleted_at).toBeTruthy();
    const revoke = await received(alice, (e) => e.message.protocolMessage?.type === 0 /* REVOKE */ && e.message.protocolMessage.key?.id === id, 'alice to decrypt the revoke');
    expect(revoke.message.protocolMessage.key).toMatchObject({ id, fromMe: true, remoteJid: aliceJid });
    expect(await webhook('message.deleted', id, 'the revoke webhook')).toMatchObject({ scope: 'everyone', by: null });

    const theirs = await fromContact(alice, 'hide this');
    expectError(await t.api.delete(`/api/messages/${link.id}/${alice}/${theirs}`), 409, 'not_own_message');
    const before = (await inbox(alice)).length;
    const local = await t.api.delete(`/api/messages/${link.id}/${alice}/${theirs}?for=me`);
    expect(local.status, JSON.stringify(local.body)).toBe(200);
    expect(local.body).toMatchObject({ message: 'hide this' });
    expect(local.body.deleted_at).toBeTruthy();
    expect(await webhook('message.deleted', theirs, 'the for-me webhook')).toMatchObject({ scope: 'me', by: null });
    await stream.next((f) => f.event === 'message-deleted' && f.data.providerMessageId === theirs && f.data.scope === 'me', 'the for-me frame');
    expect((await inbox(alice)).length).toBe(before);
  });

  it("DELETE of someone else's group message needs us to be admin", async () => {
    const notAdmin = await phone('POST', '/groups', { subject: 'Not ours', participants: [link.number, alice, bob], creator: bob });
    const bobs = await fromContact(bob, 'bob says', { group: notAdmin.jid });
    expectError(await t.api.delete(`/api/messages/${link.id}/${encodeURIComponent(notAdmin.jid)}/${bobs}`), 403, 'not_group_admin');
    const ours = await phone('POST', '/groups', { subject: 'Ours', participants: [link.number, alice, bob], creator: link.number });
    const alices = await fromContact(alice, 'alice says', { group: ours.jid });
    const res = await t.api.delete(`/api/messages/${link.id}/${encodeURIComponent(ours.jid)}/${alices}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.deleted_at).toBeTruthy();
    const revoke = await received(bob, (e) => e.message.protocolMessage?.key?.id === alices, 'bob to decrypt the admin revoke');
    expect(revoke.message.protocolMessage).toMatchObject({ type: 0 /* REVOKE */, key: { id: alices, participant: expect.stringContaining(alice) } });
  });
});
