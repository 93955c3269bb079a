// What a WhatsApp server (or a contact) can send that production queues would choke on, through the
// real stack: a 60,000-character CJK text is 180 KB of UTF-8, over a queue message's 128 KB, and a burst
// of 100 texts of 800 CJK characters makes 240 KB of events for one intake. Each must be stored whole,
// and the ordinary message that follows must not wait behind it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, newTenant } from '../harness/api';
import { eventually, launchRunner, linkedConnection, phone, phoneNumber, stopRunners } from '../harness/whatsapp';

describe('hostile input from WhatsApp', () => {
  let t: Awaited<ReturnType<typeof newTenant>>;
  let link: { id: string; number: string };
  const contact = phoneNumber();

  beforeAll(async () => {
    await launchRunner();
    t = await newTenant('hostile');
    await phone('POST', '/contacts', { phone: contact, name: 'Zhang' });
    link = await linkedConnection(t);
  });
  afterAll(async () => {
    await stopRunners();
    await closeDatabase();
  });

  const history = async () => (await t.api.get(`/api/messages/${link.id}/${contact}?limit=200`)).body as { message: string | null }[];

  it('a 60,000-character CJK text is stored whole, and the next ordinary message right after it', async () => {
    const long = '中'.repeat(59_990) + ' the end';
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: long });
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'ordinary after the long one' });
    const stored = await eventually(async () => {
      const list = await history();
      const big = list.find((m) => m.message?.endsWith(' the end'));
      return big && list.some((m) => m.message === 'ordinary after the long one') ? big : undefined;
    }, 'both messages stored');
    expect(stored.message).toBe(long);
  });

  it('a burst of 100 texts of 800 CJK characters (over 256 KB of events) is stored in full', async () => {
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: `${'字'.repeat(800)} burst`, count: 100 });
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: 'after the burst' });
    await eventually(async () => {
      const list = await history();
      const burst = list.filter((m) => m.message?.startsWith('字'.repeat(800)));
      return burst.length === 100 && list.some((m) => m.message === 'after the burst');
    }, '100 burst messages and the one after', 60_000);
  });
});
