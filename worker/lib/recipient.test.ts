import { describe, expect, it } from 'vitest';
import { chatIdOf, toJid } from './recipient';

describe('recipients', () => {
  it.each([
    ['923001234567', '923001234567@s.whatsapp.net'],
    ['+923001234567', '923001234567@s.whatsapp.net'],
    ['923001234567@s.whatsapp.net', '923001234567@s.whatsapp.net'],
    ['923001234567@c.us', '923001234567@s.whatsapp.net'],
    ['120363025246125486@g.us', '120363025246125486@g.us'],
    ['923001234567-1596480000@g.us', '923001234567-1596480000@g.us'],
    ['123456789012345@lid', '123456789012345@lid'],
  ])('%s is sent to %s', (to, jid) => {
    expect(toJid(to)).toBe(jid);
  });

  it.each(['', 'abc', '12345', '0923001234567', '92300123456789012', '92 300 1234567', 'x@s.whatsapp.net', '9230@example.com', '923001234567@'])(
    '%j is not a recipient',
    (to) => {
      expect(toJid(to)).toBeNull();
    },
  );

  it('device suffixes are dropped from chat ids', () => {
    expect(chatIdOf('923001234567:12@s.whatsapp.net')).toBe('923001234567@s.whatsapp.net');
  });
});
