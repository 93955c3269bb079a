// Changes to stored messages (message.change events) against a real Postgres: who may make them, what they
// store, the deliveries they write, and a change that comes before its message.
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { connections, messages, pendingMessageChanges, tenants, webhookDeliveries } from '../../../drizzle/schema';
import type { MessageChange, QueuedEvent, RunnerEvent, WireMessage } from '../../../protocol/runner';
import type { NodeDb } from '../../../scripts/lib/database';
import { useFileDatabase } from '../../../test/harness/file-database';
import { eventsStore } from '../db';
import { toMessage } from '../messages';
import { persistEvents, type EventsStore } from '.';
import { publicEventsOf } from './public';

const fileDb = useFileDatabase('changes');
let db: NodeDb;
let store: EventsStore;
beforeAll(() => {
  db = fileDb.db;
  store = eventsStore({ DATABASE_URL: fileDb.url, NEON_WS_PROXY: fileDb.proxy });
});

const ALICE = '15550001111@s.whatsapp.net';
const BOB = '15550002222@s.whatsapp.net';
const GROUP = '120363000000000001@g.us';
const T0 = Date.now();
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

interface Conn {
  pk: string;
  tenantId: string;
}
async function newConnection(): Promise<Conn> {
  const [t] = await db.insert(tenants).values({ name: 'acme' }).returning();
  const [c] = await db
    .insert(connections)
    .values({
      tenantId: t!.id,
      connectionId: `c-${randomUUID().slice(0, 8)}`,
      webhookSecret: 'whsec_test',
      webhookUrl: 'https://hooks.example.com/x',
      webhookEvents: ['message.updated', 'message.deleted'],
    })
    .returning();
  return { pk: c!.id, tenantId: t!.id };
}
const queued = (c: Conn, event: RunnerEvent): QueuedEvent => ({ connection_pk: c.pk, tenant_id: c.tenantId, epoch: 1, runner_id: 'r1', event });
const upsert = (c: Conn, id: string, m: Partial<WireMessage> = {}) =>
  queued(c, {
    id: `msg:${id}`,
    at: at(0),
    type: 'message.upsert',
    message: { provider_message_id: id, chat_id: ALICE, direction: 'inbound', from: ALICE, to: null, push_name: null, type: 'text', text: `text of ${id}`, content: null, timestamp: at(0), source: 'live', ...m },
  });
let n = 0;
const change = (c: Conn, target: string, ch: MessageChange, o: { author?: string | null; fromMe?: boolean; t?: number; chat?: string; byAdmin?: boolean } = {}) =>
  queued(c, {
    id: `chg:${++n}`,
    at: at(o.t ?? 1),
    type: 'message.change',
    chat_id: o.chat ?? ALICE,
    target_id: target,
    from_me: o.fromMe ?? false,
    author: o.fromMe ? null : (o.author ?? ALICE),
    ...(o.byAdmin === undefined ? {} : { by_admin: o.byAdmin }),
    timestamp: at(o.t ?? 1),
    change: ch,
  });
const rowOf = async (c: Conn, id: string) => (await db.select().from(messages).where(and(eq(messages.connectionPk, c.pk), eq(messages.providerMessageId, id))))[0]!;
const deliveriesOf = (c: Conn) => db.select().from(webhookDeliveries).where(eq(webhookDeliveries.connectionPk, c.pk));

describe('changes to stored messages', () => {
  it("an edit by the message's sender replaces its text and keeps the old one; a replay changes nothing", async () => {
    const c = await newConnection();
    await persistEvents(store, [upsert(c, 'E1')]);
    const edit = change(c, 'E1', { kind: 'edit', text: 'fixed' }, { t: 5 });
    const first = await persistEvents(store, [edit]);
    expect(first.changes).toHaveLength(1);
    const row = await rowOf(c, 'E1');
    expect(row.text).toBe('fixed');
    expect(row.editedAt?.toISOString()).toBe(at(5));
    expect(row.edits).toEqual([{ message: 'text of E1', replaced_at: at(5) }]);
    const [event] = (await publicEventsOf(first))[0]!.events;
    expect(event).toMatchObject({ type: 'message.updated', change: 'edit', by: ALICE, message: { message: 'fixed', edited_at: at(5) } });
    expect((await deliveriesOf(c)).map((d) => d.eventType)).toEqual(['message.updated']);

    const again = await persistEvents(store, [edit]);
    expect(again.changes).toEqual([]);
    expect((await rowOf(c, 'E1')).edits).toHaveLength(1);
    expect(await deliveriesOf(c)).toHaveLength(1);
  });

  it("a contact cannot edit or revoke someone else's message, in a 1:1 chat or a group", async () => {
    const c = await newConnection();
    await persistEvents(store, [
      upsert(c, 'OWN', { direction: 'outbound', from: null, to: ALICE, text: 'ours' }),
      upsert(c, 'G1', { chat_id: GROUP, from: BOB, text: 'bob in group' }),
    ]);
    const out = await persistEvents(store, [
      change(c, 'OWN', { kind: 'edit', text: 'hijacked' }),
      change(c, 'OWN', { kind: 'revoke' }),
      change(c, 'G1', { kind: 'edit', text: 'hijacked' }, { chat: GROUP }),
      change(c, 'G1', { kind: 'revoke' }, { chat: GROUP, byAdmin: false }),
    ]);
    expect(out.changes).toEqual([]);
    expect((await rowOf(c, 'OWN')).text).toBe('ours');
    expect((await rowOf(c, 'OWN')).deletedAt).toBeNull();
    expect((await rowOf(c, 'G1')).text).toBe('bob in group');
    expect((await rowOf(c, 'G1')).deletedAt).toBeNull();
    expect(await deliveriesOf(c)).toEqual([]);
    // A group admin may revoke it; its text stays readable.
    const admin = await persistEvents(store, [change(c, 'G1', { kind: 'revoke' }, { chat: GROUP, byAdmin: true, t: 3 })]);
    expect(admin.changes.map((x) => x.effect)).toMatchObject([{ event: 'message.deleted', scope: 'everyone', by: ALICE }]);
    expect((await rowOf(c, 'G1')).deletedAt?.toISOString()).toBe(at(3));
    expect((await rowOf(c, 'G1')).text).toBe('bob in group');
  });

  it('our own edits and revokes (from another device) apply to our messages', async () => {
    const c = await newConnection();
    await persistEvents(store, [upsert(c, 'O1', { direction: 'outbound', from: null, to: ALICE, text: 'typo' })]);
    await persistEvents(store, [change(c, 'O1', { kind: 'edit', text: 'no typo' }, { fromMe: true, t: 2 })]);
    const revoked = await persistEvents(store, [change(c, 'O1', { kind: 'revoke' }, { fromMe: true, t: 3 })]);
    const row = await rowOf(c, 'O1');
    expect(row).toMatchObject({ text: 'no typo', edits: [{ message: 'typo', replaced_at: at(2) }] });
    expect(row.deletedAt?.toISOString()).toBe(at(3));
    expect(revoked.changes[0]!.effect).toMatchObject({ event: 'message.deleted', by: null });
  });

  it('reactions: one per person, a later one replaces, an empty one removes', async () => {
    const c = await newConnection();
    await persistEvents(store, [upsert(c, 'R1')]);
    await persistEvents(store, [
      change(c, 'R1', { kind: 'reaction', emoji: '👍' }, { t: 1 }),
      change(c, 'R1', { kind: 'reaction', emoji: '❤️' }, { fromMe: true, t: 2 }),
      change(c, 'R1', { kind: 'reaction', emoji: '😂' }, { t: 3 }),
    ]);
    expect((await rowOf(c, 'R1')).reactions).toEqual([
      { from: null, emoji: '❤️', at: at(2) },
      { from: ALICE, emoji: '😂', at: at(3) },
    ]);
    // An older reaction arriving late does not win.
    await persistEvents(store, [change(c, 'R1', { kind: 'reaction', emoji: '👎' }, { t: 2.5 })]);
    await persistEvents(store, [change(c, 'R1', { kind: 'reaction', emoji: '' }, { fromMe: true, t: 4 })]);
    expect((await rowOf(c, 'R1')).reactions).toEqual([{ from: ALICE, emoji: '😂', at: at(3) }]);
  });

  it("poll votes tally per option, each voter's latest vote counting", async () => {
    const c = await newConnection();
    const content = { pollCreationMessageV3: { name: 'Lunch?', options: [{ optionName: 'Pizza' }, { optionName: 'Sushi' }], selectableOptionsCount: 0 } };
    await persistEvents(store, [upsert(c, 'P1', { direction: 'outbound', from: null, to: GROUP, chat_id: GROUP, type: 'pollCreationV3', text: null, content })]);
    await persistEvents(store, [
      change(c, 'P1', { kind: 'poll_vote', options: ['Pizza'] }, { chat: GROUP, author: ALICE, t: 1 }),
      change(c, 'P1', { kind: 'poll_vote', options: ['Pizza', 'Sushi'] }, { chat: GROUP, author: BOB, t: 2 }),
      change(c, 'P1', { kind: 'poll_vote', options: ['Sushi'] }, { chat: GROUP, author: ALICE, t: 3 }),
    ]);
    const message = toMessage(await rowOf(c, 'P1'), 'x');
    expect(message.poll_votes).toEqual([
      { option: 'Pizza', count: 1, voters: [BOB] },
      { option: 'Sushi', count: 2, voters: [BOB, ALICE] },
    ]);
    // Not a poll: a vote is refused.
    await persistEvents(store, [upsert(c, 'T1')]);
    expect((await persistEvents(store, [change(c, 'T1', { kind: 'poll_vote', options: ['x'] })])).changes).toEqual([]);
  });

  it('a change that comes before its message is kept, and applied when the message is stored (either path)', async () => {
    const c = await newConnection();
    const early = await persistEvents(store, [change(c, 'LATE', { kind: 'edit', text: 'edited early' }, { t: 5 })]);
    expect(early.changes).toEqual([]);
    expect(await db.select().from(pendingMessageChanges).where(eq(pendingMessageChanges.connectionPk, c.pk))).toHaveLength(1);
    // The message alone: the statement-batch path, which notices the kept change.
    const arrived = await persistEvents(store, [upsert(c, 'LATE')]);
    expect(arrived.messages).toHaveLength(1);
    expect(arrived.changes.map((x) => x.effect.event)).toEqual(['message.updated']);
    expect((await rowOf(c, 'LATE')).text).toBe('edited early');
    expect(await db.select().from(pendingMessageChanges).where(eq(pendingMessageChanges.connectionPk, c.pk))).toEqual([]);
    // With another change in the same batch: the interactive path.
    await persistEvents(store, [change(c, 'LATE2', { kind: 'reaction', emoji: '🔥' })]);
    const both = await persistEvents(store, [upsert(c, 'LATE2'), change(c, 'LATE2', { kind: 'edit', text: 'v2' }, { t: 6 })]);
    expect(both.changes.map((x) => x.effect)).toMatchObject([{ change: 'reaction' }, { change: 'edit' }]);
    expect(await rowOf(c, 'LATE2')).toMatchObject({ text: 'v2', reactions: [{ emoji: '🔥' }] });
  });
});
