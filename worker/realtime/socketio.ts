// Socket.IO protocol v5 packets, as carried in Engine.IO `message` packets. The server side of what
// Switchboard needs: CONNECT (with the client's auth payload) and its answers, EVENT out, DISCONNECT.
// https://github.com/socketio/socket.io-protocol (revision 5).
import { encodePacket } from './engineio';

export const SIO = { connect: 0, disconnect: 1, event: 2, ack: 3, connectError: 4, binaryEvent: 5, binaryAck: 6 } as const;
export type SioType = (typeof SIO)[keyof typeof SIO];

export interface SioPacket {
  type: SioType;
  /** Namespace; "/" when the packet names none. */
  nsp: string;
  id?: number;
  data?: unknown;
}

/** A Socket.IO packet from the text of an Engine.IO message; an Error says why it is not one. */
export function decodeSio(text: string): SioPacket | Error {
  let i = 0;
  const type = Number(text[i++]);
  if (!Number.isInteger(type) || type < 0 || type > 6) return new Error('unknown packet type');
  if (type === SIO.binaryEvent || type === SIO.binaryAck) return new Error('binary packets are not supported');
  let nsp = '/';
  if (text[i] === '/') {
    const end = text.indexOf(',', i);
    nsp = end === -1 ? text.slice(i) : text.slice(i, end);
    i = end === -1 ? text.length : end + 1;
  }
  let id: number | undefined;
  const digits = /^\d+/.exec(text.slice(i));
  if (digits && type !== SIO.connect) {
    id = Number(digits[0]);
    i += digits[0].length;
  }
  const rest = text.slice(i);
  let data: unknown;
  if (rest.length) {
    try {
      data = JSON.parse(rest);
    } catch {
      return new Error('invalid payload');
    }
  }
  if (type === SIO.connect && data !== undefined && (typeof data !== 'object' || data === null || Array.isArray(data))) {
    return new Error('CONNECT auth must be an object');
  }
  if (type === SIO.event && (!Array.isArray(data) || typeof data[0] !== 'string')) return new Error('EVENT must be ["name", ...args]');
  return { type: type as SioType, nsp, ...(id === undefined ? {} : { id }), ...(data === undefined ? {} : { data }) };
}

const nspPrefix = (nsp: string) => (nsp === '/' ? '' : `${nsp},`);

/** A Socket.IO packet, wrapped as the Engine.IO message that carries it. */
export function encodeSio(p: SioPacket): string {
  const body = `${p.type}${nspPrefix(p.nsp)}${p.id ?? ''}${p.data === undefined ? '' : JSON.stringify(p.data)}`;
  return encodePacket('message', body);
}

/** `42["event",data]` from the stored JSON text of `data`: built once per event, sent to every session. */
export const encodeEvent = (event: string, dataJson: string) => encodePacket('message', `${SIO.event}[${JSON.stringify(event)},${dataJson}]`);

export const connectOk = (socketId: string, nsp = '/') => encodeSio({ type: SIO.connect, nsp, data: { sid: socketId } });
export const connectError = (message: string, nsp = '/') => encodeSio({ type: SIO.connectError, nsp, data: { message } });
export const disconnectPacket = (nsp = '/') => encodeSio({ type: SIO.disconnect, nsp });
