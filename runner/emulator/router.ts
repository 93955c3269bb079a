// Dispatches what a connection receives to the module that owns it.
import type { BinaryNode } from '@whiskeysockets/baileys';
import { acceptDeviceCall } from './calls.js';
import { acceptHandshake } from './login.js';
import { acceptGatewayMessage, acceptGatewayReceipt } from './messaging.js';
import type { Network } from './network.js';
import { answerIq } from './queries.js';
import { answerMediaRetry } from './media-retry.js';
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
        if (conn.loggedIn && !(await answerMediaRetry(net, conn, node))) await acceptGatewayReceipt(net, conn, node);
        return;
      case 'presence':
        // A presence subscription to a contact is answered with the contact being online.
        if (node.attrs.type === 'subscribe' && net.resolve(node.attrs.to ?? '')?.kind === 'contact') {
          conn.send({ tag: 'presence', attrs: { from: node.attrs.to!, type: 'available' } });
        } else if (conn.loggedIn && node.attrs.type && node.attrs.type !== 'subscribe') {
          net.recordPresence({ kind: 'presence', account: conn.account!.phone, device: conn.device?.id, type: node.attrs.type, at: Date.now() });
        }
        return;
      case 'chatstate': {
        // <chatstate to><composing/> | <composing media="audio"/> (recording) | <paused/></chatstate>
        const state = Array.isArray(node.content) ? (node.content[0] as BinaryNode | undefined) : undefined;
        if (conn.loggedIn && state) {
          const type = state.tag === 'composing' && state.attrs.media === 'audio' ? 'recording' : state.tag;
          net.recordPresence({ kind: 'chatstate', account: conn.account!.phone, device: conn.device?.id, type, to: node.attrs.to, at: Date.now() });
        }
        return;
      }
      case 'call':
        if (conn.loggedIn) acceptDeviceCall(net, conn, node);
        return;
      case 'ack':
        // The device has the message: it no longer needs redelivering if the connection drops.
        if (node.attrs.class === 'message' && node.attrs.id) conn.unacked.delete(node.attrs.id);
        return;
      default:
        // ib (unified_session, offline_batch): nothing to answer.
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
