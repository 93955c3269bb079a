// Who the account knows: names from the phone's address book (history sync), the names people set
// themselves (with their messages), and each person's phone number and LID, through GET /api/contacts;
// a person who wrote by LID before WhatsApp said who they are moves, with their chat, under their number;
// and profile pictures, asked of WhatsApp.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, newTenant } from '../harness/api';
import { eventually, launchRunner, linkedConnection, phone, phoneNumber, stopRunners } from '../harness/whatsapp';

type Contact = { jid: string; phone_number: string | null; lid: string | null; name: string | null; push_name: string | null };

describe('contacts', () => {
  let t: Awaited<ReturnType<typeof newTenant>>;
  let other: Awaited<ReturnType<typeof newTenant>>;
  let link: { id: string; number: string };
  const saved = phoneNumber();
  const writer = phoneNumber();
  const stranger = phoneNumber();
  const lids: Record<string, string> = {};

  beforeAll(async () => {
    await launchRunner();
    t = await newTenant('contacts');
    other = await newTenant('contacts-other');
    for (const [number, name] of [[saved, 'Ana Own'], [writer, 'Bruno'], [stranger, 'Cleo']] as const) {
      lids[number] = (await phone<{ lid: string }>('POST', '/contacts', { phone: number, name })).lid;
    }
    // The phone's address book names Ana; the device linked next gets it in its history sync.
    link = await linkedConnection(t, 'emulator', {
      beforeScan: (number) => phone('POST', `/accounts/${number}/address-book`, { contacts: [{ phone: saved, name: 'Ana (work)' }] }),
    });
  });
  afterAll(async () => {
    await stopRunners();
    await closeDatabase();
  });

  const list = async (query = '') => (await t.api.get(`/api/contacts/${link.id}${query}`)).body as Contact[];
  const find = async (number: string) => (await list()).filter((c) => c.jid.startsWith(number) || c.lid === `${lids[number]}@lid`);

  it("names the address book's people, with their number and LID", async () => {
    const ana = await eventually(async () => (await find(saved)).find((c) => c.name === 'Ana (work)'), 'Ana from the address book');
    expect(ana).toMatchObject({ jid: `${saved}@s.whatsapp.net`, phone_number: saved, lid: `${lids[saved]}@lid` });
    expect((await list('?q=work')).map((c) => c.jid)).toEqual([`${saved}@s.whatsapp.net`]);
  });

  it('learns the name people set themselves from their messages', async () => {
    await phone('POST', `/contacts/${writer}/messages`, { to: link.number, text: 'hello' });
    const bruno = await eventually(async () => (await find(writer)).find((c) => c.push_name === 'Bruno'), "Bruno's push name");
    expect(bruno).toMatchObject({ jid: `${writer}@s.whatsapp.net`, phone_number: writer, name: null });
  });

  it('moves someone who wrote by LID alone under their number once it is known: one contact, one chat', async () => {
    await phone('POST', `/contacts/${stranger}/addressing`, { mode: 'lid', alt: false });
    const first = (await phone<{ ids: string[] }>('POST', `/contacts/${stranger}/messages`, { to: link.number, text: 'who am I?' })).ids[0]!;
    const lidChat = `${lids[stranger]}@lid`;
    await eventually(async () => ((await t.api.get(`/api/messages/${link.id}/${encodeURIComponent(lidChat)}`)).body as Array<{ provider_message_id: string }>).some((m) => m.provider_message_id === first), 'the first message, under the LID');
    // Now WhatsApp names them by number with the LID beside it.
    await phone('POST', `/contacts/${stranger}/addressing`, { mode: 'pn', alt: true });
    const second = (await phone<{ ids: string[] }>('POST', `/contacts/${stranger}/messages`, { to: link.number, text: 'it is Cleo' })).ids[0]!;
    const pnJid = `${stranger}@s.whatsapp.net`;
    const history = await eventually(async () => {
      const msgs = (await t.api.get(`/api/messages/${link.id}/${stranger}`)).body as Array<{ provider_message_id: string; chat_id: string; from: string }>;
      return [first, second].every((id) => msgs.some((m) => m.provider_message_id === id)) ? msgs : undefined;
    }, 'both messages in the chat under the number');
    for (const m of history) expect([m.chat_id, m.from]).toEqual([pnJid, pnJid]);
    const chats = (await t.api.get(`/api/chats/${link.id}`)).body as Array<{ chat_id: string; unread_count: number }>;
    const hers = chats.filter((c) => c.chat_id === pnJid || c.chat_id === lidChat);
    expect(hers).toEqual([expect.objectContaining({ chat_id: pnJid, unread_count: 2 })]);
    expect(await find(stranger)).toEqual([expect.objectContaining({ jid: pnJid, lid: lidChat, push_name: 'Cleo' })]);
  });

  it("answers a contact's profile picture from WhatsApp, or null", async () => {
    await phone('POST', `/contacts/${saved}/picture`, { url: 'https://pps.whatsapp.net/v/t61/ana.jpg?oe=1' });
    const pic = await t.api.get(`/api/contacts/${link.id}/${saved}/picture`);
    expect(pic.status, JSON.stringify(pic.body)).toBe(200);
    expect(pic.body).toEqual({ jid: `${saved}@s.whatsapp.net`, url: 'https://pps.whatsapp.net/v/t61/ana.jpg?oe=1' });
    expect((await t.api.get(`/api/contacts/${link.id}/${writer}/picture`)).body).toEqual({ jid: `${writer}@s.whatsapp.net`, url: null });
  });

  it("is the connection's tenant's only", async () => {
    expect((await other.api.get(`/api/contacts/${link.id}`)).status).toBe(404);
    expect((await other.api.get(`/api/contacts/${link.id}/${saved}/picture`)).status).toBe(404);
  });
});
