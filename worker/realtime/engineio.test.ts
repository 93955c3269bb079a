// Our Engine.IO codec against the reference parser the socket.io-client package ships (engine.io-parser).
import { decodePayload as refDecodePayload, encodePayload as refEncodePayload } from 'engine.io-parser';
import { describe, expect, it } from 'vitest';
import { decodePacket, decodePayload, encodePacket, encodePayload, openPacket } from './engineio';

describe('Engine.IO v4 packets', () => {
  it('encodes a payload the reference client decodes, packet by packet', () => {
    const body = encodePayload([encodePacket('ping'), encodePacket('message', '2["new-message",{"a":"é✓"}]'), encodePacket('noop')]);
    expect(refDecodePayload(body)).toEqual([
      { type: 'ping' },
      { type: 'message', data: '2["new-message",{"a":"é✓"}]' },
      { type: 'noop' },
    ]);
  });

  it('decodes what the reference client POSTs', async () => {
    const body = await new Promise<string>((resolve) =>
      refEncodePayload([{ type: 'message', data: '40{"token":"sk_live_x"}' }, { type: 'pong' }], resolve),
    );
    expect(decodePayload(body)).toEqual([
      { type: 'message', data: '40{"token":"sk_live_x"}' },
      { type: 'pong', data: '' },
    ]);
  });

  it('tells binary packets apart and refuses garbage', () => {
    expect(decodePacket('bAQID')).toEqual({ type: 'binary' });
    expect(decodePacket('9x')).toBeNull();
    expect(decodePacket('')).toBeNull();
    expect(decodePayload('4hi\x1e9nope')).toBeNull();
  });

  it('opens with the handshake the client expects', () => {
    const open = openPacket('abc');
    expect(open[0]).toBe('0');
    expect(JSON.parse(open.slice(1))).toEqual({ sid: 'abc', upgrades: ['websocket'], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 });
  });
});
