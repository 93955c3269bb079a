import { describe, expect, it } from 'vitest';
import type { BinaryNode } from '@whiskeysockets/baileys';
import type { LinkedDevice } from './accounts.js';
import { Network } from './network.js';
import type { Connection } from './session.js';

const message = (id: string): BinaryNode => ({ tag: 'message', attrs: { id, from: '15550009999@s.whatsapp.net' } });

/** Just enough of a live connection for delivery bookkeeping. */
function liveConnection(net: Network, device: LinkedDevice, account: ReturnType<Network['createAccount']>) {
  const sent: BinaryNode[] = [];
  const conn = { closed: false, account, device, unacked: new Map<string, BinaryNode>(), send: (n: BinaryNode) => sent.push(n) } as unknown as Connection;
  net.connections.add(conn);
  return { conn, sent };
}

describe('delivery bookkeeping', () => {
  it('a message the device never acked is queued again when its connection drops, before later ones', () => {
    const net = new Network();
    const account = net.createAccount();
    const device = { id: 1, offline: [] as BinaryNode[] } as unknown as LinkedDevice;
    account.devices.set(1, device);
    const { conn, sent } = liveConnection(net, device, account);

    net.deliver(account, device, message('A'));
    net.deliver(account, device, message('B'));
    expect(sent.map((n) => n.attrs.id)).toEqual(['A', 'B']);
    conn.unacked.delete('A'); // the device acked (or sent a receipt for) A only

    (conn as { closed: boolean }).closed = true;
    net.connections.delete(conn);
    net.requeueUnacked(conn);
    net.deliver(account, device, message('C'));
    expect(device.offline.map((n) => n.attrs.id)).toEqual(['B', 'C']);
  });

  it('the offline queue sent at login stays unacked: a drop before the acks queues it again', () => {
    const net = new Network();
    const account = net.createAccount();
    const device = { id: 1, offline: [message('Q1'), message('Q2')] } as unknown as LinkedDevice;
    account.devices.set(1, device);
    const { conn, sent } = liveConnection(net, device, account);
    expect(net.sendOfflineQueue(conn, device)).toBe(2);
    expect(sent.map((n) => n.attrs.id)).toEqual(['Q1', 'Q2']);
    expect(device.offline).toEqual([]);
    conn.unacked.delete('Q1');
    net.connections.delete(conn);
    net.requeueUnacked(conn);
    expect(device.offline.map((n) => n.attrs.id)).toEqual(['Q2']);
  });
});

describe('receipts from the device', () => {
  it('a receipt for a delivered message counts as its ack: it is not redelivered after a drop', async () => {
    const { acceptGatewayReceipt } = await import('./messaging.js');
    const net = new Network();
    const account = net.createAccount();
    const device = { id: 1, offline: [] as BinaryNode[] } as unknown as LinkedDevice;
    account.devices.set(1, device);
    const { conn } = liveConnection(net, device, account);
    net.deliver(account, device, message('R1'));
    net.deliver(account, device, message('R2'));
    await acceptGatewayReceipt(net, conn, { tag: 'receipt', attrs: { id: 'R1', to: '' } });
    net.connections.delete(conn);
    net.requeueUnacked(conn);
    expect(device.offline.map((n) => n.attrs.id)).toEqual(['R2']);
  });
});
