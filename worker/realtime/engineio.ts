// Engine.IO protocol v4, the transport under Socket.IO: packets, the long-polling payload, the handshake.
// Text only: Switchboard sends JSON, and a binary packet from a client is decoded as such and ignored.
// https://github.com/socketio/engine.io-protocol (revision 4).

/** Engine.IO packet types, by their one-character code. */
export const EIO = { open: '0', close: '1', ping: '2', pong: '3', message: '4', upgrade: '5', noop: '6' } as const;
export type EngineType = keyof typeof EIO;
const TYPES = Object.fromEntries(Object.entries(EIO).map(([name, code]) => [code, name])) as Record<string, EngineType>;

export type EnginePacket = { type: EngineType; data: string } | { type: 'binary' };

/** Separates packets in a long-polling payload (record separator, U+001E). */
export const SEPARATOR = '\x1e';

export interface HandshakeOptions {
  pingInterval: number;
  pingTimeout: number;
  /** Largest payload (bytes) the server accepts in one POST or WebSocket frame. */
  maxPayload: number;
  upgrades: string[];
}

export const DEFAULT_HANDSHAKE: HandshakeOptions = { pingInterval: 25_000, pingTimeout: 20_000, maxPayload: 1_000_000, upgrades: ['websocket'] };

export const encodePacket = (type: EngineType, data = '') => `${EIO[type]}${data}`;

/** One packet from its text form; null when it is not Engine.IO. `b…` (base64) is a binary message. */
export function decodePacket(text: string): EnginePacket | null {
  if (text.length === 0) return null;
  if (text[0] === 'b') return { type: 'binary' };
  const type = TYPES[text[0]!];
  return type ? { type, data: text.slice(1) } : null;
}

export const encodePayload = (packets: string[]) => packets.join(SEPARATOR);

/** Every packet of a POSTed payload, or null when any is malformed (the session is then closed). */
export function decodePayload(body: string): EnginePacket[] | null {
  const packets: EnginePacket[] = [];
  for (const part of body.split(SEPARATOR)) {
    const p = decodePacket(part);
    if (!p) return null;
    packets.push(p);
  }
  return packets;
}

/** The `open` packet that starts a session. */
export const openPacket = (sid: string, o: HandshakeOptions = DEFAULT_HANDSHAKE) =>
  encodePacket('open', JSON.stringify({ sid, upgrades: o.upgrades, pingInterval: o.pingInterval, pingTimeout: o.pingTimeout, maxPayload: o.maxPayload }));
