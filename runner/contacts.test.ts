import type { WAMessage } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import type { RunnerEvent } from '../protocol/runner.js';
import { contactEvents, PeopleSeen, wireContact } from './contacts.js';

describe('contacts from Baileys', () => {
  it('keys a person by their number when known, else their LID, and drops groups and empty facts', () => {
    expect(wireContact({ id: '111@lid', phoneNumber: '1555:3@s.whatsapp.net', name: ' Ana ', notify: 'A' })).toEqual({
      jid: '1555@s.whatsapp.net',
      lid: '111@lid',
      name: 'Ana',
      push_name: 'A',
    });
    expect(wireContact({ id: '111@lid', notify: 'A' })).toEqual({ jid: '111@lid', push_name: 'A' });
    expect(wireContact({ id: '1203630@g.us', name: 'group' })).toBeUndefined();
    expect(contactEvents([{ id: '1555@s.whatsapp.net' }, { id: 'x@broadcast', name: 'b' }])).toEqual([]);
  });

  it('cuts names to 256 bytes and chunks large address books, with ids stable per content', () => {
    const many = Array.from({ length: 1001 }, (_, i) => ({ id: `1555${i}@s.whatsapp.net`, name: '名'.repeat(200) }));
    const events = contactEvents(many);
    expect(events.map((e) => (e as Extract<RunnerEvent, { type: 'contacts.upsert' }>).contacts.length)).toEqual([500, 500, 1]);
    const first = (events[0] as Extract<RunnerEvent, { type: 'contacts.upsert' }>).contacts[0]!;
    expect(Buffer.byteLength(first.name!)).toBeLessThanOrEqual(256);
    expect(contactEvents(many).map((e) => e.id)).toEqual(events.map((e) => e.id));
  });

  it('reports each LID pair and push name once per session, and again when a name changes', () => {
    const seen = new PeopleSeen();
    const msg = { key: { id: 'A', remoteJid: '111@lid', remoteJidAlt: '1555@s.whatsapp.net' } } as unknown as WAMessage;
    const upsert = (pushName: string): RunnerEvent => ({
      id: 'msg:A',
      at: new Date().toISOString(),
      type: 'message.upsert',
      message: { provider_message_id: 'A', chat_id: '1555@s.whatsapp.net', direction: 'inbound', from: '1555@s.whatsapp.net', to: null, push_name: pushName, type: 'text', text: 'x', content: null, timestamp: new Date().toISOString(), source: 'live' },
    });
    expect(seen.changed([msg], [upsert('Ana')])).toEqual([{ id: '1555@s.whatsapp.net', lid: '111@lid' }, { id: '1555@s.whatsapp.net', notify: 'Ana' }]);
    expect(seen.changed([msg], [upsert('Ana')])).toEqual([]);
    expect(seen.changed([msg], [upsert('Ana B.')])).toEqual([{ id: '1555@s.whatsapp.net', notify: 'Ana B.' }]);
  });
});
