// Contacts: other WhatsApp users, each one Signal device (device 0) backed by libsignal.
// They decrypt what the gateway sends them and encrypt what they send to the gateway.
// An account's own phone (its device 0) is the same kind of Signal peer.
import { encodeBigEndian, encodeWAMessage, proto, unpadRandomMax16, type BinaryNode } from '@whiskeysockets/baileys';
import * as libsignal from 'libsignal';
// libsignal's typings omit keyhelper, which it does export.
import * as keyhelperModule from 'libsignal/src/keyhelper.js';
import type { DeviceBundle } from './accounts.js';
import type { InboxMedia } from './media.js';

type LibKeyPair = { pubKey: Buffer; privKey: Buffer };

export type InboxEntry = {
  id: string;
  /** The gateway device that sent it, e.g. 15550001111:1@s.whatsapp.net */
  from: string;
  /** Chat the message belongs to from the contact's side (the account's phone jid). */
  chat: string;
  t: number;
  text?: string;
  /** Set for image, video, audio and document messages: what the contact got after fetching and decrypting the file. */
  media?: InboxMedia;
  message: Record<string, unknown>;
  encType: string;
};

const PREKEY_BATCH = 20;
const keyhelper = keyhelperModule as unknown as {
  generateIdentityKeyPair(): unknown;
  generateRegistrationId(): number;
  generateSignedPreKey(identity: unknown, id: number): unknown;
  generatePreKey(id: number): unknown;
};
const stripKeyType = (key: Uint8Array) => Buffer.from(key.length === 33 ? key.subarray(1) : key);
const withKeyType = (key: Uint8Array) => (key.length === 33 ? Buffer.from(key) : Buffer.concat([Buffer.from([5]), key]));

const MAX_REMEMBERED_SENDS = 10_000;

export class Contact {
  readonly inbox: InboxEntry[] = [];
  /** What this contact sent, by id, so it can re-encrypt on a retry receipt (bounded). */
  readonly sent = new Map<string, proto.IMessage>();
  private sessions = new Map<string, unknown>();
  private preKeys = new Map<number, LibKeyPair>();
  /** Pre-key ids not yet handed to anyone (a one-time key is served once). */
  private unservedPreKeys: number[] = [];
  private nextPreKeyId = 1;
  readonly identity: LibKeyPair;
  readonly registrationId: number;
  readonly signedPreKey: { keyId: number; keyPair: LibKeyPair; signature: Buffer };

  constructor(
    readonly phone: string,
    readonly lid: string,
    public name: string,
    keys?: { identity: LibKeyPair; registrationId: number; signedPreKey: { keyId: number; keyPair: LibKeyPair; signature: Buffer } },
  ) {
    this.identity = keys?.identity ?? (keyhelper.generateIdentityKeyPair() as LibKeyPair);
    this.registrationId = keys?.registrationId ?? keyhelper.generateRegistrationId();
    this.signedPreKey = keys?.signedPreKey ?? (keyhelper.generateSignedPreKey(this.identity, 1) as Contact['signedPreKey']);
  }

  get pnJid() {
    return `${this.phone}@s.whatsapp.net`;
  }
  get lidJid() {
    return `${this.lid}@lid`;
  }

  private readonly storage = {
    loadSession: async (id: string) => {
      const raw = this.sessions.get(id);
      return raw ? libsignal.SessionRecord.deserialize(raw as Uint8Array) : undefined;
    },
    storeSession: async (id: string, record: libsignal.SessionRecord) => {
      this.sessions.set(id, record.serialize());
    },
    isTrustedIdentity: () => true,
    loadPreKey: async (id: number | string) => this.preKeys.get(Number(id)),
    removePreKey: (id: number) => {
      this.preKeys.delete(Number(id));
    },
    loadSignedPreKey: () => this.signedPreKey.keyPair,
    getOurRegistrationId: () => this.registrationId,
    getOurIdentity: () => this.identity,
  };

  /** The bundle node the server hands to whoever fetches this contact's keys (Baileys' <user> in an encrypt result). */
  takeKeyBundle(jid: string): BinaryNode {
    if (this.unservedPreKeys.length === 0) this.generatePreKeys(PREKEY_BATCH);
    const preKeyId = this.unservedPreKeys.shift()!;
    const preKey = this.preKeys.get(preKeyId)!;
    return {
      tag: 'user',
      attrs: { jid },
      content: [
        { tag: 'registration', attrs: {}, content: encodeBigEndian(this.registrationId) },
        { tag: 'type', attrs: {}, content: Buffer.from([5]) },
        { tag: 'identity', attrs: {}, content: stripKeyType(this.identity.pubKey) },
        {
          tag: 'skey',
          attrs: {},
          content: [
            { tag: 'id', attrs: {}, content: encodeBigEndian(this.signedPreKey.keyId, 3) },
            { tag: 'value', attrs: {}, content: stripKeyType(this.signedPreKey.keyPair.pubKey) },
            { tag: 'signature', attrs: {}, content: Buffer.from(this.signedPreKey.signature) },
          ],
        },
        {
          tag: 'key',
          attrs: {},
          content: [
            { tag: 'id', attrs: {}, content: encodeBigEndian(preKeyId, 3) },
            { tag: 'value', attrs: {}, content: stripKeyType(preKey.pubKey) },
          ],
        },
      ],
    };
  }

  private generatePreKeys(n: number) {
    for (let i = 0; i < n; i++) {
      const k = keyhelper.generatePreKey(this.nextPreKeyId++) as { keyId: number; keyPair: LibKeyPair };
      this.preKeys.set(k.keyId, k.keyPair);
      this.unservedPreKeys.push(k.keyId);
    }
  }

  /** Signal address of a gateway device; libsignal forbids '.' in names, so LID user + device id. */
  private address(lidUser: string, device: number) {
    return new libsignal.ProtocolAddress(lidUser, device);
  }

  /** Decrypts one <enc> from a gateway device and files it in the inbox; `openMedia` fetches and checks attached media. */
  async receive(
    opts: { lidUser: string; device: number; fromJid: string; chat: string; id: string; t: number; encType: string; ciphertext: Buffer },
    openMedia?: (message: proto.IMessage) => Promise<InboxMedia | undefined>,
  ): Promise<InboxEntry> {
    const cipher = new libsignal.SessionCipher(this.storage as never, this.address(opts.lidUser, opts.device));
    const padded =
      opts.encType === 'pkmsg' ? await cipher.decryptPreKeyWhisperMessage(opts.ciphertext) : await cipher.decryptWhisperMessage(opts.ciphertext);
    const message = proto.Message.decode(unpadRandomMax16(padded));
    const text = message.conversation || message.extendedTextMessage?.text || undefined;
    const media = await openMedia?.(message);
    const entry: InboxEntry = {
      id: opts.id,
      from: opts.fromJid,
      chat: opts.chat,
      t: opts.t,
      text: text ?? undefined,
      ...(media ? { media } : {}),
      message: proto.Message.toObject(message, { longs: Number, bytes: String }) as Record<string, unknown>,
      encType: opts.encType,
    };
    this.inbox.push(entry);
    return entry;
  }

  hasSessionWith(lidUser: string, device: number) {
    return this.sessions.has(this.address(lidUser, device).toString());
  }

  /** Encrypts a message for one gateway device; `takeBundle` is only called when no session exists yet. */
  async encryptFor(
    lidUser: string,
    device: number,
    message: proto.IMessage,
    takeBundle: () => (Omit<DeviceBundle, 'preKeys'> & { preKey?: { keyId: number; public: Buffer } }) | undefined,
  ): Promise<{ encType: 'pkmsg' | 'msg'; ciphertext: Buffer }> {
    const addr = this.address(lidUser, device);
    if (!this.sessions.has(addr.toString())) {
      const bundle = takeBundle();
      if (!bundle) throw new Error(`no key bundle for ${lidUser}:${device}`);
      await new libsignal.SessionBuilder(this.storage as never, addr).initOutgoing({
        registrationId: bundle.registrationId,
        identityKey: withKeyType(bundle.identity),
        signedPreKey: { keyId: bundle.signedPreKey.keyId, publicKey: withKeyType(bundle.signedPreKey.public), signature: bundle.signedPreKey.signature },
        preKey: bundle.preKey ? { keyId: bundle.preKey.keyId, publicKey: withKeyType(bundle.preKey.public) } : (undefined as never),
      });
    }
    const out = (await new libsignal.SessionCipher(this.storage as never, addr).encrypt(encodeWAMessage(message))) as unknown as {
      type: number;
      body: Buffer;
    };
    return { encType: out.type === 3 ? 'pkmsg' : 'msg', ciphertext: Buffer.from(out.body) };
  }

  rememberSent(id: string, message: proto.IMessage) {
    this.sent.set(id, message);
    if (this.sent.size > MAX_REMEMBERED_SENDS) this.sent.delete(this.sent.keys().next().value!);
  }

  /** Forget sessions with a device (it was unlinked; a relinked device starts fresh). */
  dropSessionsWith(lidUser: string, device: number) {
    this.sessions.delete(this.address(lidUser, device).toString());
  }

  toJSON() {
    return {
      phone: this.phone,
      lid: this.lid,
      name: this.name,
      identity: this.identity,
      registrationId: this.registrationId,
      signedPreKey: this.signedPreKey,
      sessions: [...this.sessions],
      preKeys: [...this.preKeys],
      unservedPreKeys: this.unservedPreKeys,
      nextPreKeyId: this.nextPreKeyId,
      inbox: this.inbox,
    };
  }

  static fromJSON(raw: ReturnType<Contact['toJSON']>): Contact {
    const c = new Contact(raw.phone, raw.lid, raw.name, raw);
    c.sessions = new Map(raw.sessions);
    c.preKeys = new Map(raw.preKeys);
    c.unservedPreKeys = raw.unservedPreKeys;
    c.nextPreKeyId = raw.nextPreKeyId;
    c.inbox.push(...raw.inbox);
    return c;
  }
}
