// Sender keys of emulated peers, and groups in the state snapshot (no Baileys socket needed).
import { describe, expect, it } from 'vitest';
import { Network } from './network.js';
import { decodeSnapshot, encodeSnapshot } from './persistence.js';
import { SenderKeys } from './sender-keys.js';

const group = '120363000000000001@g.us';
const alice = { user: '111111111111111', device: 0 };
const bytes = (s: string) => Buffer.from(s, 'utf8');
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

describe('SenderKeys', () => {
  it('a key distributed once decrypts every later message, also after a snapshot round trip', async () => {
    const sender = new SenderKeys();
    let receiver = new SenderKeys();
    const first = await sender.encrypt(group, alice, bytes('one'));
    await receiver.process(group, alice, first.skdm);
    expect(text(await receiver.decrypt(group, alice, first.skmsg))).toBe('one');

    const second = await sender.encrypt(group, alice, bytes('two'));
    expect(second.skdm.equals(first.skdm)).toBe(false); // the chain moved on; the key id stays
    receiver = SenderKeys.fromJSON(decodeSnapshot(encodeSnapshot(receiver.toJSON())));
    expect(text(await receiver.decrypt(group, alice, second.skmsg))).toBe('two');
  });

  it('without the sender’s key nothing decrypts', async () => {
    const { skmsg } = await new SenderKeys().encrypt(group, alice, bytes('secret'));
    await expect(new SenderKeys().decrypt(group, alice, skmsg)).rejects.toThrow(/no sender key/);
  });

  it('remembers which devices hold its key, until a device is forgotten', () => {
    const keys = new SenderKeys();
    keys.markDistributed(group, '222:1');
    expect(keys.hasDistributedTo(group, '222:1')).toBe(true);
    keys.forgetDevice('222:1');
    expect(keys.hasDistributedTo(group, '222:1')).toBe(false);
  });
});

describe('groups in the snapshot', () => {
  it('come back with their members, and a snapshot without groups still loads', () => {
    const net = new Network();
    const account = net.createAccount();
    const contact = net.createContact();
    const created = net.createGroup({ subject: 'Kept', participants: [account.phone, contact.phone], addressingMode: 'pn' });

    const restored = new Network();
    restored.restore(decodeSnapshot(encodeSnapshot(net.toJSON())));
    expect(restored.group(created.jid).toJSON()).toEqual(created.toJSON());

    const { groups: _, ...older } = net.toJSON();
    const old = new Network();
    old.restore(decodeSnapshot(encodeSnapshot(older)));
    expect(old.groups.size).toBe(0);
  });
});
