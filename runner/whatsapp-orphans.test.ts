// A message Baileys decrypted as its socket ended (upsert still in the event buffer, or decryption
// finishing after the close) reaches the session only through the receipt gate: it must still become a
// stored event, since WhatsApp's redelivery no longer decrypts. Here the session's own gate is handed
// such messages, as Baileys' patched hook hands them, and the events that go out are checked.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { WAMessage } from '@whiskeysockets/baileys';
import type { RunnerEvent } from '../protocol/runner.js';
import type { RemoteAuthState } from './auth-state.js';
import type { ReceiptGate } from './receipt-gate.js';
import { WhatsAppSession } from './whatsapp.js';

const CONTACT = '15550002222@s.whatsapp.net';

const incoming = (id: string, text: string): WAMessage => ({
  key: { id, remoteJid: CONTACT, fromMe: false },
  message: { conversation: text },
  messageTimestamp: 1_796_000_000,
  pushName: 'Ana',
});

function session() {
  const emitted: Array<{ events: RunnerEvent[]; whenStored?: ReadonlyMap<string, () => void> }> = [];
  const auth = {
    state: { creds: { me: { id: '15550001111:3@s.whatsapp.net', lid: '99990001111:3@lid' } } },
    phoneUserOfLid: () => null,
  } as unknown as RemoteAuthState;
  const s = new WhatsAppSession({ connectionPk: 'pk', auth, logger: pino({ level: 'silent' }), emit: (events, whenStored) => void emitted.push({ events, whenStored }) });
  const gate = (s as unknown as { receipts: ReceiptGate }).receipts;
  const upserts = () => emitted.flatMap(e => e.events.flatMap(ev => (ev.type === 'message.upsert' ? [{ ev, release: e.whenStored?.get(ev.id) }] : [])));
  return { gate, upserts };
}

const settled = async (p: Promise<void>) => {
  let done = false;
  void p.then(() => (done = true));
  await new Promise(r => setImmediate(r));
  return done;
};

describe('messages decrypted as the socket closed', () => {
  it('become message events, each holding auth-state writes back until it is stored', async () => {
    const { gate, upserts } = session();
    const sock = {};
    const unsent: string[] = [];
    // Held, never upserted: the close hands it back.
    gate.hold({ id: 'BUFFERED', remoteJid: CONTACT }, async () => void unsent.push('BUFFERED'), { message: incoming('BUFFERED', 'in the buffer'), type: 'notify' }, sock);
    expect(upserts()).toEqual([]);
    gate.close(sock);
    // Decrypted after the close: handed back at once.
    gate.hold({ id: 'LATE', remoteJid: CONTACT }, async () => void unsent.push('LATE'), { message: incoming('LATE', 'after the close'), type: 'notify' }, sock);

    const out = upserts();
    expect(out.map(u => [u.ev.type === 'message.upsert' && u.ev.message.provider_message_id, u.ev.type === 'message.upsert' && u.ev.message.text])).toEqual([
      ['BUFFERED', 'in the buffer'],
      ['LATE', 'after the close'],
    ]);
    for (const u of out) expect(u.ev.type === 'message.upsert' && u.ev.message.direction).toBe('inbound');

    // An auth-state write waits for both to be stored (the barrier), then goes.
    const barrier = gate.barrier();
    expect(await settled(barrier)).toBe(false);
    out[0]!.release!();
    expect(await settled(barrier)).toBe(false);
    out[1]!.release!();
    expect(await settled(barrier)).toBe(true);
    // Their receipts cannot go out on a closed socket: WhatsApp redelivers, and the next socket answers.
    expect(unsent).toEqual([]);
  });
});
