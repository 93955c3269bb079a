// contacts.upsert events into Postgres: fields fill in and are never cleared, a person known by LID moves
// under their number with their messages and chat, a copy under another tenant changes nothing, and
// applying a batch twice is the same as once.
import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { chats, connections, contacts, messages, tenants } from '../../../drizzle/schema';
import type { QueuedEvent, WireContact } from '../../../protocol/runner';
import type { NodeDb } from '../../../scripts/lib/database';
import { useFileDatabase } from '../../../test/harness/file-database';
import { eventsStore } from '../db';
import { persistEvents, type EventsStore } from '.';

const fileDb = useFileDatabase('contacts');
let db: NodeDb;
let store: EventsStore;
beforeAll(() => {
  db = fileDb.db;
  store = eventsStore({ DATABASE_URL: fileDb.url, NEON_WS_PROXY: fileDb.proxy });
});

async function newConnection() {
  const [t] = await db.insert(tenants).values({ name: 'acme' }).returning();
  const [c] = await db
    .insert(connections)
    .values({ tenantId: t!.id, connectionId: `c-${randomUUID().slice(0, 8)}`, webhookSecret: 'whsec_test', startRequestedAt: new Date() })
    .returning();
  return { pk: c!.id, tenantId: t!.id };
}
const event = (c: { pk: string; tenantId: string }, list: WireContact[]): QueuedEvent => ({
  connection_pk: c.pk,
  tenant_id: c.tenantId,
  epoch: 1,
  runner_id: 'r1',
  event: { id: `ct:${randomUUID()}`, at: new Date().toISOString(), type: 'contacts.upsert', contacts: list },
});
const rows = async (pk: string) => db.select().from(contacts).where(eq(contacts.connectionPk, pk)).orderBy(contacts.jid);

const PN = '15550001111@s.whatsapp.net';
const LID = '111222333@lid';

describe('contacts.upsert', () => {
  it('fills fields in, later facts winning, and never clears one an event leaves out', async () => {
    const c = await newConnection();
    await persistEvents(store, [event(c, [{ jid: PN, push_name: 'Ana' }]), event(c, [{ jid: PN, name: 'Ana (work)' }])]);
    await persistEvents(store, [event(c, [{ jid: PN, lid: LID }]), event(c, [{ jid: PN, push_name: 'Ana B.' }])]);
    expect(await rows(c.pk)).toEqual([expect.objectContaining({ jid: PN, lid: LID, name: 'Ana (work)', pushName: 'Ana B.' })]);
  });

  it('moves a person known by LID under their number, with their messages and chat', async () => {
    const c = await newConnection();
    await persistEvents(store, [event(c, [{ jid: LID, push_name: 'Cleo' }])]);
    await db.insert(messages).values({ connectionPk: c.pk, chatId: LID, direction: 'inbound', fromJid: LID, text: 'hi', providerMessageId: 'M1', status: 'received' });
    await db.insert(chats).values({ connectionPk: c.pk, chatId: LID, unreadCount: 1, lastMessageText: 'hi' });
    await db.insert(chats).values({ connectionPk: c.pk, chatId: PN, unreadCount: 2, lastMessageText: 'later', lastMessageAt: new Date(Date.now() + 60_000) });

    const pair = event(c, [{ jid: PN, lid: LID }]);
    await persistEvents(store, [pair]);
    await persistEvents(store, [pair]); // again: nothing more moves
    expect(await rows(c.pk)).toEqual([expect.objectContaining({ jid: PN, lid: LID, pushName: 'Cleo' })]);
    const [m] = await db.select().from(messages).where(and(eq(messages.connectionPk, c.pk), eq(messages.providerMessageId, 'M1')));
    expect([m!.chatId, m!.fromJid]).toEqual([PN, PN]);
    const chatRows = await db.select().from(chats).where(eq(chats.connectionPk, c.pk));
    expect(chatRows.map((r) => [r.chatId, r.unreadCount, r.lastMessageText])).toEqual([[PN, 3, 'later']]);
  });

  it("changes nothing for an event claimed under another tenant's connection", async () => {
    const c = await newConnection();
    const intruder = { pk: c.pk, tenantId: (await newConnection()).tenantId };
    await persistEvents(store, [event(intruder, [{ jid: PN, name: 'forged' }])]);
    expect(await rows(c.pk)).toEqual([]);
  });
});
