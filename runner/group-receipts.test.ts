import { describe, expect, it } from 'vitest';
import { GroupReceipts } from './group-receipts.js';

const alice = ['111@lid', '15550001111@s.whatsapp.net'];
const bob = ['222@lid', '15550002222@s.whatsapp.net'];

describe('GroupReceipts', () => {
  it('delivered once every other participant received it, read once every one read it', () => {
    const tally = new GroupReceipts();
    tally.expect('M1', [alice, bob]);
    expect(tally.receipt('M1', '111@lid', 'delivered')).toBeUndefined();
    expect(tally.receipt('M1', '111@lid', 'delivered')).toBeUndefined(); // the same receipt again
    expect(tally.receipt('M1', '15550002222@s.whatsapp.net', 'delivered')).toBe('delivered'); // bob by his number
    expect(tally.receipt('M1', '111@lid', 'read')).toBeUndefined();
    expect(tally.receipt('M1', '222@lid', 'read')).toBe('read');
  });

  it('a read receipt counts as delivered too; strangers and unknown messages change nothing', () => {
    const tally = new GroupReceipts();
    tally.expect('M2', [alice, bob]);
    expect(tally.receipt('M2', '999@lid', 'read')).toBeUndefined();
    expect(tally.receipt('OTHER', '111@lid', 'read')).toBeUndefined();
    expect(tally.receipt('M2', '111@lid', 'read')).toBeUndefined();
    expect(tally.receipt('M2', '222@lid', 'read')).toBe('read');
  });

  it('is bounded: the oldest message is forgotten first', () => {
    const tally = new GroupReceipts(1);
    tally.expect('OLD', [alice]);
    tally.expect('NEW', [alice]);
    expect(tally.receipt('OLD', '111@lid', 'delivered')).toBeUndefined();
    expect(tally.receipt('NEW', '111@lid', 'delivered')).toBe('delivered');
  });
});
