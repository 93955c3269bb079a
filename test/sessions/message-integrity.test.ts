// A send's identity cannot be guessed or reused: its WhatsApp id is an HMAC under a server secret (not the
// plain hash of the ids, which a contact could pre-send), and a retried client_message_id must carry the
// same request, or it is refused as a reused id (409 idempotency_key_reused) and nothing is sent.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../worker/auth/credentials';
import { closeDatabase, eventually, expectError, newTenant } from '../harness/api';
import { launchRunner, linkedConnection, phone, phoneNumber, stopRunners } from '../harness/whatsapp';

let t: Awaited<ReturnType<typeof newTenant>>;
let link: { id: string; number: string };
const alice = phoneNumber();
const bob = phoneNumber();
const inbox = (contact: string) => phone<{ id: string; text: string | null; media?: { caption: string | null } }[]>('GET', `/contacts/${contact}/inbox`);
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==';

beforeAll(async () => {
  await launchRunner();
  t = await newTenant('integrity');
  await phone('POST', '/contacts', { phone: alice, name: 'Alice' });
  await phone('POST', '/contacts', { phone: bob, name: 'Bob' });
  link = await linkedConnection(t);
});

afterAll(async () => {
  await stopRunners();
  await closeDatabase();
});

describe('message integrity', () => {
  it('the WhatsApp id of a send is not the plain hash of its ids', async () => {
    const cmid = `int-${randomUUID()}`;
    const res = await t.api.post('/api/send-message', { connection_id: link.id, to: alice, message: 'id check', client_message_id: cmid });
    expect(res.status).toBe(200);
    const naive = `3EB0${(await sha256Hex(`${link.id}:${cmid}`)).slice(0, 20).toUpperCase()}`;
    expect(res.body.provider_message_id).toMatch(/^3EB0[0-9A-F]{20}$/);
    expect(res.body.provider_message_id).not.toBe(naive);
    await eventually(async () => (await inbox(alice)).some((m) => m.id === res.body.provider_message_id), 'the contact to receive it');
  });

  it('a retry with the same request answers the first result; another text or recipient is a reused id, and nothing is sent', async () => {
    const cmid = `int-${randomUUID()}`;
    const body = { connection_id: link.id, to: alice, message: 'pay 10 EUR', client_message_id: cmid };
    const first = await t.api.post('/api/send-message', body);
    expect(first.status).toBe(200);
    // The same request, the number written differently: a retry.
    const again = await t.api.post('/api/send-message', { ...body, to: `+${alice}` });
    expect(again.body).toEqual(first.body);

    const changed = await t.api.post('/api/send-message', { ...body, message: 'pay 1000 EUR' });
    expectError(changed, 409, 'idempotency_key_reused');
    expect(changed.body.error.message).toContain(cmid);
    expectError(await t.api.post('/api/send-message', { ...body, to: bob }), 409, 'idempotency_key_reused');

    await new Promise((r) => setTimeout(r, 1000));
    expect((await inbox(alice)).filter((m) => m.text?.startsWith('pay ')).map((m) => m.text)).toEqual(['pay 10 EUR']);
    expect((await inbox(bob)).filter((m) => m.text?.startsWith('pay '))).toEqual([]);
  });

  it('the same for a file: the same bytes are a retry, other bytes a reused id', async () => {
    const cmid = `int-${randomUUID()}`;
    const body = { connection_id: link.id, to: alice, message: 'the receipt', client_message_id: cmid, media: { type: 'image', base64: PNG } };
    const first = await t.api.post('/api/send-message', body);
    expect(first.status).toBe(200);
    expect((await t.api.post('/api/send-message', body)).body).toEqual(first.body);
    const other = Buffer.from(PNG, 'base64');
    other[other.length - 5] = other[other.length - 5]! ^ 0xff;
    expectError(await t.api.post('/api/send-message', { ...body, media: { type: 'image', base64: other.toString('base64') } }), 409, 'idempotency_key_reused');
    await new Promise((r) => setTimeout(r, 1000));
    expect((await inbox(alice)).filter((m) => m.media?.caption === 'the receipt')).toHaveLength(1);
  });
});
