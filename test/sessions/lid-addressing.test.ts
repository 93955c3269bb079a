// One person, one chat: WhatsApp moves users from phone-number addressing to LIDs, so the same contact's
// messages may name them by number, by LID with the number beside it, or by LID alone. Whichever form a
// message uses, it lands in the one chat under the person's number, `from` stays their digits, and a send
// addressed to the LID joins that chat too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, newTenant } from '../harness/api';
import { eventually, launchRunner, linkedConnection, phone, phoneNumber, stopRunners } from '../harness/whatsapp';

describe('a contact who moves from phone-number to LID addressing', () => {
  let t: Awaited<ReturnType<typeof newTenant>>;
  let link: { id: string; number: string };
  const number = phoneNumber();
  let lid = '';

  beforeAll(async () => {
    await launchRunner();
    t = await newTenant('lid');
    lid = (await phone<{ lid: string }>('POST', '/contacts', { phone: number, name: 'Lina' })).lid;
    link = await linkedConnection(t);
  });
  afterAll(async () => {
    await stopRunners();
    await closeDatabase();
  });

  const say = async (text: string, addressing: { mode: 'pn' | 'lid'; alt: boolean }) => {
    await phone('POST', `/contacts/${number}/addressing`, addressing);
    return (await phone<{ ids: string[] }>('POST', `/contacts/${number}/messages`, { to: link.number, text })).ids[0]!;
  };
  const chats = async () => (await t.api.get(`/api/chats/${link.id}`)).body as Array<{ chat_id: string }>;
  const history = async () => (await t.api.get(`/api/messages/${link.id}/${number}?limit=50`)).body as Array<{ provider_message_id: string; chat_id: string; from: string | null; direction: string }>;

  it('stays one chat under the phone number, whichever form each message names', async () => {
    // As WhatsApp sends today: the number, with the LID beside it (Baileys learns the pair from it).
    const first = await say('by number', { mode: 'pn', alt: true });
    // Then by LID alone: the gateway must know from before that this LID is the same person.
    const second = await say('by LID alone', { mode: 'lid', alt: false });
    // And by LID with the number beside it.
    const third = await say('by LID, number beside', { mode: 'lid', alt: true });
    const stored = await eventually(async () => {
      const list = await history();
      return [first, second, third].every((id) => list.some((m) => m.provider_message_id === id)) ? list : undefined;
    }, 'all three messages in the chat under the number');
    const pnJid = `${number}@s.whatsapp.net`;
    for (const m of stored.filter((m) => m.direction === 'inbound')) {
      expect(m.chat_id).toBe(pnJid);
      expect(m.from).toBe(pnJid);
    }
    const mine = (await chats()).filter((c) => c.chat_id.startsWith(number) || c.chat_id.startsWith(lid));
    expect(mine.map((c) => c.chat_id)).toEqual([pnJid]);
  });

  it('a send addressed to the LID reaches the contact and joins the same chat', async () => {
    const sent = await t.api.post('/api/send-message', { connection_id: link.id, to: `${lid}@lid`, message: 'to your LID' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    const id = sent.body.provider_message_id as string;
    await eventually(async () => ((await phone<Array<{ id: string }>>('GET', `/contacts/${number}/inbox`)).some((m) => m.id === id) ? true : undefined), 'the contact to get it');
    const row = await eventually(async () => (await history()).find((m) => m.provider_message_id === id), 'the send in the chat under the number');
    expect(row.chat_id).toBe(`${number}@s.whatsapp.net`);
    const mine = (await chats()).filter((c) => c.chat_id.startsWith(number) || c.chat_id.startsWith(lid));
    expect(mine.map((c) => c.chat_id)).toEqual([`${number}@s.whatsapp.net`]);
  });
});
