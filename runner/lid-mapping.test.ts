import type { WAMessage } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { chatOfLid, fillPhoneNumbers } from './lid-mapping.js';
import { toWireMessage } from './whatsapp-events.js';

const known = (lidUser: string) => ({ '111222333': '15550001111' })[lidUser];
const text = (key: Record<string, unknown>): WAMessage => ({ key: { id: 'ABC', ...key }, message: { conversation: 'hi' }, messageTimestamp: 1 }) as WAMessage;

describe('LID to phone number', () => {
  it('names a LID-only 1:1 message by the phone number Baileys learned, so it lands in that chat', () => {
    const m = text({ remoteJid: '111222333@lid' });
    fillPhoneNumbers([m], known);
    expect(toWireMessage(m, 'live')).toMatchObject({ chat_id: '15550001111@s.whatsapp.net', from: '15550001111@s.whatsapp.net' });
  });

  it('fills a group participant known only by LID, and leaves unknown LIDs and given numbers alone', () => {
    const group = text({ remoteJid: '1203630@g.us', participant: '111222333@lid' });
    const stranger = text({ remoteJid: '999888777@lid' });
    const both = text({ remoteJid: '111222333@lid', remoteJidAlt: '15559990000@s.whatsapp.net' });
    fillPhoneNumbers([group, stranger, both], known);
    expect(toWireMessage(group, 'live')).toMatchObject({ chat_id: '1203630@g.us', from: '15550001111@s.whatsapp.net' });
    expect(toWireMessage(stranger, 'live')).toMatchObject({ chat_id: '999888777@lid' });
    expect((both.key as { remoteJidAlt?: string }).remoteJidAlt).toBe('15559990000@s.whatsapp.net');
  });

  it('tells a send to a known LID which chat it belongs to', () => {
    expect(chatOfLid('111222333@lid', known)).toEqual({ chat_jid: '15550001111@s.whatsapp.net' });
    expect(chatOfLid('999888777@lid', known)).toEqual({});
    expect(chatOfLid('15550001111@s.whatsapp.net', known)).toEqual({});
  });
});
