// One WebSocket connection from a companion (Baileys): noise handshake, then the encrypted stream
// of binary nodes. Knows the client's login state; the emulated world lives in network.ts.
import { decodeBinaryNode, encodeBinaryNode, type BinaryNode } from '@whiskeysockets/baileys';
import type { WebSocket } from 'ws';
import type { Account, LinkedDevice } from './accounts.js';
import { streamErrorNode, type StreamErrorKind } from './faults.js';
import { FrameReader, NoiseResponder, encodeFrameLength } from './noise.js';
import type { ServerIdentity } from './certificates.js';
import { newStanzaId } from './stanzas.js';

/** Keys an unregistered companion announced in its ClientPayload; the phone signs these when it links it. */
export type CompanionRegistration = {
  noiseKey: Buffer;
  identity: Buffer;
  registrationId: number;
  signedPreKey: { keyId: number; public: Buffer; signature: Buffer };
  platform: string;
};

export interface StanzaHandler {
  /** Called once the handshake is complete with the client's static key and payload. */
  onLogin(conn: Connection, clientStatic: Buffer, payload: import('@whiskeysockets/baileys').proto.ClientPayload): Promise<void> | void;
  onStanza(conn: Connection, node: BinaryNode): Promise<void> | void;
  onClose(conn: Connection): void;
}

let connectionSeq = 0;

export class Connection {
  readonly id = ++connectionSeq;
  private readonly reader = new FrameReader();
  private readonly noise: NoiseResponder;
  private stage: 'hello' | 'finish' | 'transport' = 'hello';
  private inbound: Promise<void> = Promise.resolve();
  private readonly pending = new Map<string, { resolve: (n: BinaryNode) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  account?: Account;
  device?: LinkedDevice;
  registration?: CompanionRegistration;
  closed = false;
  /** Messages handed to this device and not yet acked by it; requeued if the connection drops (as WhatsApp does). */
  readonly unacked = new Map<string, BinaryNode>();

  constructor(
    private readonly ws: WebSocket,
    identity: ServerIdentity,
    private readonly handler: StanzaHandler,
  ) {
    this.noise = new NoiseResponder(identity.noiseStatic, identity.certChain);
    ws.on('message', (data: Buffer) => {
      // Frames are processed strictly in order, but a handler never waits on the client's reply
      // inside this chain (replies arrive on this same chain → deadlock); see query().
      this.inbound = this.inbound.then(() => this.receive(data)).catch(err => this.abort(err));
    });
    ws.on('close', () => this.onClosed());
    ws.on('error', () => this.onClosed());
  }

  get loggedIn() {
    return !!this.device;
  }

  private async receive(data: Buffer) {
    if (this.closed) return;
    for (const frame of this.reader.push(data)) {
      if (this.stage === 'hello') {
        this.writeRaw(this.noise.respondToHello(frame));
        this.stage = 'finish';
      } else if (this.stage === 'finish') {
        const { clientStatic, payload } = this.noise.acceptFinish(frame);
        this.stage = 'transport';
        await this.handler.onLogin(this, clientStatic, payload);
      } else {
        const node = await decodeBinaryNode(this.noise.open(frame));
        if (node.tag === 'iq' && (node.attrs.type === 'result' || node.attrs.type === 'error')) {
          const waiter = this.pending.get(node.attrs.id!);
          if (waiter) {
            this.pending.delete(node.attrs.id!);
            clearTimeout(waiter.timer);
            waiter.resolve(node);
            continue;
          }
        }
        await this.handler.onStanza(this, node);
      }
    }
  }

  private writeRaw(bytes: Uint8Array) {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(encodeFrameLength(bytes));
  }

  send(node: BinaryNode) {
    if (this.closed || !this.noise.ready) return;
    this.writeRaw(this.noise.seal(encodeBinaryNode(node)));
  }

  /** Sends an iq and resolves with the client's reply, without blocking the inbound frame loop. */
  query(node: BinaryNode, timeoutMs = 20_000): Promise<BinaryNode> {
    const id = node.attrs.id ?? (node.attrs.id = newStanzaId());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no reply to iq ${id}`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.send(node);
    });
  }

  streamError(kind: StreamErrorKind) {
    this.send(streamErrorNode(kind));
    this.end();
  }

  /** Closes the stream after a final stanza (stream error, failure); the short delay lets it be flushed first. */
  end() {
    this.onClosed();
    setTimeout(() => this.ws.close(), 50).unref();
  }

  /** Drops the TCP/WebSocket without any goodbye (network failure). */
  drop() {
    this.ws.terminate();
    this.onClosed();
  }

  private abort(err: unknown) {
    if (!this.closed) {
      console.error(`[emulator] connection ${this.id} failed:`, err instanceof Error ? err.message : err);
      this.drop();
    }
  }

  private onClosed() {
    if (this.closed) return;
    this.closed = true;
    // A query the client will never answer now fails at once (a companion that hung up mid-pairing, say).
    for (const { timer, reject } of this.pending.values()) {
      clearTimeout(timer);
      reject(new Error('the client closed the connection before it replied'));
    }
    this.pending.clear();
    this.handler.onClose(this);
  }
}
