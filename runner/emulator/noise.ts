// Server side (responder) of WhatsApp's Noise_XX_25519_AESGCM_SHA256 handshake, and the
// encrypted transport that follows it. Mirrors Baileys' Utils/noise-handler.js from the other end.
import { Curve, NOISE_MODE, NOISE_WA_HEADER, aesDecryptGCM, aesEncryptGCM, hkdf, proto, sha256 } from '@whiskeysockets/baileys';

export type KeyPair = { public: Uint8Array; private: Uint8Array };

const IV_LENGTH = 12;
const EMPTY = Buffer.alloc(0);

const ivFor = (counter: number): Buffer => {
  const iv = Buffer.alloc(IV_LENGTH);
  iv.writeUInt32BE(counter >>> 0, 8);
  return iv;
};

/** Splits the byte stream from the client into 3-byte-length-prefixed frames, after the one-time intro. */
export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);
  private introSeen = false;

  push(chunk: Buffer): Buffer[] {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    if (!this.introSeen) {
      // Optional edge-routing header: 'ED', 2 bytes, 3-byte length, routing info; then 'WA' + 2 version bytes.
      if (this.buffered.length >= 2 && this.buffered.subarray(0, 2).toString('latin1') === 'ED') {
        if (this.buffered.length < 7) return [];
        const len = (this.buffered[4]! << 16) | this.buffered.readUInt16BE(5);
        if (this.buffered.length < 7 + len + 4) return [];
        this.buffered = this.buffered.subarray(7 + len);
      }
      if (this.buffered.length < 4) return [];
      if (this.buffered.subarray(0, 2).toString('latin1') !== 'WA') throw new Error('bad intro header');
      this.buffered = this.buffered.subarray(4);
      this.introSeen = true;
    }
    const frames: Buffer[] = [];
    while (this.buffered.length >= 3) {
      const size = (this.buffered[0]! << 16) | (this.buffered[1]! << 8) | this.buffered[2]!;
      if (this.buffered.length < size + 3) break;
      frames.push(Buffer.from(this.buffered.subarray(3, size + 3)));
      this.buffered = this.buffered.subarray(size + 3);
    }
    return frames;
  }
}

export const encodeFrameLength = (payload: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(3 + payload.byteLength);
  out[0] = (payload.byteLength >>> 16) & 0xff;
  out[1] = (payload.byteLength >>> 8) & 0xff;
  out[2] = payload.byteLength & 0xff;
  out.set(payload, 3);
  return out;
};

export type HandshakeResult = { clientStatic: Buffer; payload: proto.ClientPayload };

/**
 * One handshake + transport per WebSocket. Server writes with the second half of the final
 * HKDF output and reads with the first (the client does the opposite).
 */
export class NoiseResponder {
  private hash: Buffer;
  private salt: Buffer;
  private key: Buffer;
  private counter = 0;
  private readonly ephemeral: KeyPair = Curve.generateKeyPair();
  private transport?: { enc: Buffer; dec: Buffer; readCounter: number; writeCounter: number };

  constructor(private readonly staticKey: KeyPair, private readonly certChain: Uint8Array) {
    const mode = Buffer.from(NOISE_MODE);
    this.hash = mode.length === 32 ? mode : sha256(mode);
    this.salt = this.hash;
    this.key = this.hash;
    this.authenticate(NOISE_WA_HEADER);
  }

  get ready(): boolean {
    return !!this.transport;
  }

  private authenticate(data: Uint8Array) {
    this.hash = sha256(Buffer.concat([this.hash, data]));
  }

  private mixIntoKey(data: Uint8Array) {
    const out = Buffer.from(hkdf(Buffer.from(data), 64, { salt: this.salt, info: '' }));
    this.salt = out.subarray(0, 32);
    this.key = out.subarray(32);
    this.counter = 0;
  }

  private encrypt(plaintext: Uint8Array): Buffer {
    const out = aesEncryptGCM(plaintext, this.key, ivFor(this.counter++), this.hash);
    this.authenticate(out);
    return out;
  }

  private decrypt(ciphertext: Uint8Array): Buffer {
    const out = aesDecryptGCM(ciphertext, this.key, ivFor(this.counter++), this.hash);
    this.authenticate(ciphertext);
    return out;
  }

  /** ClientHello → ServerHello bytes (to be framed by the caller). */
  respondToHello(frame: Buffer): Buffer {
    const msg = proto.HandshakeMessage.decode(frame);
    const clientEphemeral = msg.clientHello?.ephemeral;
    if (!clientEphemeral || clientEphemeral.length !== 32) throw new Error('ClientHello without ephemeral key');
    this.clientEphemeral = Buffer.from(clientEphemeral);
    this.authenticate(this.clientEphemeral);
    this.authenticate(this.ephemeral.public);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, this.clientEphemeral));
    const staticEnc = this.encrypt(this.staticKey.public);
    this.mixIntoKey(Curve.sharedKey(this.staticKey.private, this.clientEphemeral));
    const payloadEnc = this.encrypt(this.certChain);
    return Buffer.from(
      proto.HandshakeMessage.encode({ serverHello: { ephemeral: this.ephemeral.public, static: staticEnc, payload: payloadEnc } }).finish(),
    );
  }
  private clientEphemeral?: Buffer;

  /** ClientFinish → the client's static (noise) key and its ClientPayload; switches to transport mode. */
  acceptFinish(frame: Buffer): HandshakeResult {
    const msg = proto.HandshakeMessage.decode(frame);
    const fin = msg.clientFinish;
    if (!fin?.static || !fin.payload) throw new Error('ClientFinish incomplete');
    const clientStatic = this.decrypt(fin.static);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientStatic));
    const payload = proto.ClientPayload.decode(this.decrypt(fin.payload));
    const out = Buffer.from(hkdf(EMPTY, 64, { salt: this.salt, info: '' }));
    this.transport = { dec: out.subarray(0, 32), enc: out.subarray(32), readCounter: 0, writeCounter: 0 };
    return { clientStatic, payload };
  }

  seal(plaintext: Uint8Array): Buffer {
    const t = this.transport!;
    return aesEncryptGCM(plaintext, t.enc, ivFor(t.writeCounter++), EMPTY);
  }

  open(ciphertext: Uint8Array): Buffer {
    const t = this.transport!;
    return aesDecryptGCM(ciphertext, t.dec, ivFor(t.readCounter++), EMPTY);
  }
}
