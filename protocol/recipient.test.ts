import { describe, expect, it } from 'vitest';
import { recipientJid } from './recipient';

describe('recipients', () => {
  it.each([
    ['923001234567', '923001234567@s.whatsapp.net'],
    ['+923001234567', '923001234567@s.whatsapp.net'],
    [' +92 300 1234567 ', '923001234567@s.whatsapp.net'],
    ['+1 (555) 123-4567', '15551234567@s.whatsapp.net'],
    ['49.151.2345.6789', '4915123456789@s.whatsapp.net'],
    ['923001234567@s.whatsapp.net', '923001234567@s.whatsapp.net'],
    ['923001234567:12@s.whatsapp.net', '923001234567@s.whatsapp.net'],
    ['923001234567@c.us', '923001234567@s.whatsapp.net'],
    ['120363025246125486@g.us', '120363025246125486@g.us'],
    ['923001234567-1596480000@g.us', '923001234567-1596480000@g.us'],
    ['123456789012345@lid', '123456789012345@lid'],
    ['123456789012345:3@lid', '123456789012345@lid'],
  ])('%j is sent to %s', (to, jid) => {
    expect(recipientJid(to)).toBe(jid);
  });

  it.each([
    '',
    'abc',
    '12345',
    '0923001234567',
    '092 300 1234567',
    '92300123456789012',
    '92_300_1234567',
    '92 300 1234567 ext 4',
    '++923001234567',
    'x@s.whatsapp.net',
    '9230@example.com',
    '923001234567@',
    '92 300 1234567@s.whatsapp.net',
  ])('%j is not a recipient', (to) => {
    expect(recipientJid(to)).toBeNull();
  });
});
