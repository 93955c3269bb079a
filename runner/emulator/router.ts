// Dispatches what a connection receives to the module that owns it.
import type { BinaryNode } from '@whiskeysockets/baileys';
import { acceptHandshake } from './login.js';
import { acceptGatewayMessage, acceptGatewayReceipt } from './messaging.js';
import type { Network } from './network.js';
import { answerIq } from './queries.js';
import type { Connection, StanzaHandler } from './session.js';

export const makeRouter = (net: Network): StanzaHandler => ({
  onLogin: (conn, clientStatic, payload) => acceptHandshake(net, conn, clientStatic, payload),
  async onStanza(conn: Connection, node: BinaryNode) {
    switch (node.tag) {
      case 'iq': {
        const reply = answerIq(net, conn, node);
        if (reply) conn.send(reply);
        return;
      }
      case 'message':
        if (conn.loggedIn) await acceptGatewayMessage(net, conn, node);
        return;
      case 'receipt':
        if (conn.loggedIn) await acceptGatewayReceipt(net, conn, node);
        return;
      case 'presence':
        // A presence subscription to a contact is answered with the contact being online.
        if (node.attrs.type === 'subscribe' && net.resolve(node.attrs.to ?? '')?.kind === 'contact') {
          conn.send({ tag: 'presence', attrs: { from: node.attrs.to!, type: 'available' } });
        }
        return;
      case 'ack':
        // The device has the message: it no longer needs redelivering if the connection drops.
        if (node.attrs.class === 'message' && node.attrs.id) conn.unacked.delete(node.attrs.id);
        return;
      default:
        // chatstate, ib (unified_session, offline_batch), call: nothing to answer.
        return;
    }
  },
  onClose(conn) {
    net.connections.delete(conn);
    net.requeueUnacked(conn);
    for (const [ref, c] of net.qrRefs) if (c === conn) net.qrRefs.delete(ref);
    for (const [phone, req] of net.pairingRequests) if (req.conn === conn) net.pairingRequests.delete(phone);
  },
});
