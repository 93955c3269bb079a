// Our Socket.IO codec against the reference parser the socket.io-client package ships (socket.io-parser).
import { Decoder, Encoder, PacketType } from 'socket.io-parser';
import { describe, expect, it } from 'vitest';
import { connectError, connectOk, decodeSio, encodeEvent, SIO } from './socketio';

const referenceDecode = (engineMessage: string) => {
  // Strip the Engine.IO "4" (message) the codec adds, as the client's transport does.
  expect(engineMessage[0]).toBe('4');
  const decoder = new Decoder();
  let packet: any;
  decoder.on('decoded', (p: any) => (packet = p));
  decoder.add(engineMessage.slice(1));
  return packet;
};

describe('Socket.IO v5 packets', () => {
  it('sends events the reference client decodes into (name, data)', () => {
    const data = { connectionId: 'user123', chatId: '1@s.whatsapp.net', message: { text: 'héllo "quoted"' } };
    expect(referenceDecode(encodeEvent('new-message', JSON.stringify(data)))).toEqual({ type: PacketType.EVENT, nsp: '/', data: ['new-message', data] });
  });

  it('answers CONNECT with the socket id, or a CONNECT_ERROR with a message', () => {
    expect(referenceDecode(connectOk('s1'))).toEqual({ type: PacketType.CONNECT, nsp: '/', data: { sid: 's1' } });
    expect(referenceDecode(connectError('bad key'))).toEqual({ type: PacketType.CONNECT_ERROR, nsp: '/', data: { message: 'bad key' } });
    expect(referenceDecode(connectError('Invalid namespace', '/admin'))).toEqual({ type: PacketType.CONNECT_ERROR, nsp: '/admin', data: { message: 'Invalid namespace' } });
  });

  it('reads what the reference client encodes: CONNECT with auth, in a namespace, DISCONNECT, EVENT with an ack id', () => {
    const encode = (p: any) => new Encoder().encode(p)[0] as string;
    expect(decodeSio(encode({ type: PacketType.CONNECT, nsp: '/', data: { token: 'sk_live_abc' } }))).toEqual({ type: SIO.connect, nsp: '/', data: { token: 'sk_live_abc' } });
    expect(decodeSio(encode({ type: PacketType.CONNECT, nsp: '/' }))).toEqual({ type: SIO.connect, nsp: '/' });
    expect(decodeSio(encode({ type: PacketType.CONNECT, nsp: '/admin', data: { token: 't' } }))).toEqual({ type: SIO.connect, nsp: '/admin', data: { token: 't' } });
    expect(decodeSio(encode({ type: PacketType.DISCONNECT, nsp: '/' }))).toEqual({ type: SIO.disconnect, nsp: '/' });
    expect(decodeSio(encode({ type: PacketType.EVENT, nsp: '/', id: 7, data: ['hello', 1] }))).toEqual({ type: SIO.event, nsp: '/', id: 7, data: ['hello', 1] });
  });

  it('refuses what it cannot handle', () => {
    expect(decodeSio('9')).toBeInstanceOf(Error);
    expect(decodeSio('0"a string"')).toBeInstanceOf(Error);
    expect(decodeSio('2{not json')).toBeInstanceOf(Error);
    expect(decodeSio('2{"a":1}')).toBeInstanceOf(Error);
    expect(decodeSio('51-["x",{"_placeholder":true,"num":0}]')).toBeInstanceOf(Error);
  });
});
