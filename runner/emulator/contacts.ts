// Contacts: other WhatsApp users, each one Signal device (device 0) backed by libsignal.
// They decrypt what the gateway sends them and encrypt what they send to the gateway.
// An account's own phone (its device 0) is the same kind of Signal peer.
import { encodeBigEndian, encodeWAMessage, proto, unpadRandomMax16, type BinaryNode } from '@whiskeysockets/baileys';
import * as libsignal from 'libsignal';
// libsignal's typings omit keyhelper, which it does export.
import * as keyhelperModule from 'libsignal/src/keyhelper.js';
import type { DeviceBundle } from './accounts.js';
import type { InboxMedia } from './media.js';
import { SenderKeys, type SenderAddress } from './sender-keys.js';

type LibKeyPair = { pubKey: Buffer; privKey: Buffer };

export type InboxEntry = {
  id: string;
  /** The gateway device that sent it, e.g. 15550001111:1@s.whatsapp.net */
  from: string;
  /** Chat the message belongs to from the contact's side (the account's phone jid, or the group jid). */
  chat: string;
  /** Set for messages received in a group: the group's jid (`from` is then the member that sent it). */
  group?: string;
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

/** Who sent a gateway message and over which Signal session, for `receive` / `receiveGroup`. */
type Envelope = { lidUser: string; device: number; fromJid: string; chat: string; id: string; t: number };
type OpenMedia = (message: proto.IMessage) => Promise<InboxMedia | undefined>;

export class Contact {
  readonly inbox: InboxEntry[] = [];
  /** What this contact sent, by id (and the group, for group messages), so it can re-encrypt on a retry receipt (bounded). */
  readonly sent = new Map<string, { message: proto.IMessage; group?: string }>();
  /** Sender keys of the groups this peer is in (its own and the ones other members distributed). */
  senderKeys = new SenderKeys();
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

  /**
   * How this contact's 1:1 messages name their sender, as WhatsApp's server does: by phone number (`pn`)
   * or by LID (`lid`), with the other form beside it (`sender_lid` / `sender_pn`) when `alt` is set.
   * WhatsApp is moving users from the first to the second; the gateway must keep one chat per person.
   */
  addressing: { mode: 'pn' | 'lid'; alt: boolean } = { mode: 'pn', alt: false };
  /** The URL of the contact's profile picture, as WhatsApp's CDN would serve it; null: none set. */
  picture: string | null = null;

  /** The attributes that name the sender of a 1:1 message from this contact. */
  senderAttrs(): Record<string, string> {
    const { mode, alt } = this.addressing;
    if (mode === 'lid') return { from: this.lidJid, ...(alt ? { sender_pn: this.pnJid } : {}) };
    return { from: this.pnJid, ...(alt ? { sender_lid: this.lidJid } : {}) };
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

  /** Decrypts one pairwise <enc> (pkmsg / msg) from a gateway device. */
  private async decryptPairwise(lidUser: string, device: number, encType: string, ciphertext: Buffer): Promise<proto.Message> {
    const cipher = new libsignal.SessionCipher(this.storage as never, this.address(lidUser, device));
    const padded = encType === 'pkmsg' ? await cipher.decryptPreKeyWhisperMessage(ciphertext) : await cipher.decryptWhisperMessage(ciphertext);
    return proto.Message.decode(unpadRandomMax16(padded));
  }

  private async file(envelope: Envelope, message: proto.Message, encType: string, openMedia?: OpenMedia, group?: string): Promise<InboxEntry> {
    const text = message.conversation || message.extendedTextMessage?.text || undefined;
    const media = await openMedia?.(message);
    const entry: InboxEntry = {
      id: envelope.id,
      from: envelope.fromJid,
      chat: envelope.chat,
      ...(group ? { group } : {}),
      t: envelope.t,
      text: text ?? undefined,
      ...(media ? { media } : {}),
      message: proto.Message.toObject(message, { longs: Number, bytes: String }) as Record<string, unknown>,
      encType,
    };
    this.inbox.push(entry);
    return entry;
  }

  /** Decrypts one <enc> from a gateway device and files it in the inbox; `openMedia` fetches and checks attached media. */
  async receive(opts: Envelope & { encType: string; ciphertext: Buffer }, openMedia?: OpenMedia): Promise<InboxEntry> {
    const message = await this.decryptPairwise(opts.lidUser, opts.device, opts.encType, opts.ciphertext);
    return this.file(opts, message, opts.encType, openMedia);
  }

  /**
   * A group message from a gateway device. The pairwise <enc>, when the sender included one for us,
   * carries its SenderKeyDistributionMessage (and must be read first); the skmsg is the message
   * itself, encrypted once for the whole group with the sender's key.
   */
  async receiveGroup(
    opts: Envelope & { group: string; pairwise?: { encType: string; ciphertext: Buffer }; skmsg?: Buffer },
    openMedia?: OpenMedia,
  ): Promise<InboxEntry | undefined> {
    const sender: SenderAddress = { user: opts.lidUser, device: opts.device };
    let pairwise: proto.Message | undefined;
    if (opts.pairwise) {
      pairwise = await this.decryptPairwise(opts.lidUser, opts.device, opts.pairwise.encType, opts.pairwise.ciphertext);
      const skdm = pairwise.senderKeyDistributionMessage;
      if (skdm?.axolotlSenderKeyDistributionMessage) {
        if (skdm.groupId && skdm.groupId !== opts.group) throw new Error(`sender key for ${skdm.groupId} arrived in ${opts.group}`);
        await this.senderKeys.process(opts.group, sender, skdm.axolotlSenderKeyDistributionMessage);
      }
    }
    if (opts.skmsg) {
      const message = proto.Message.decode(unpadRandomMax16(await this.senderKeys.decrypt(opts.group, sender, opts.skmsg)));
      return this.file({ ...opts, chat: opts.group }, message, 'skmsg', openMedia, opts.group);
    }
    // No skmsg: a resend after a retry receipt carries the content in the pairwise message itself.
    return pairwise && this.file({ ...opts, chat: opts.group }, pairwise, opts.pairwise!.encType, openMedia, opts.group);
  }

  /**
   * Encrypts a message for a group with this peer's sender key (created on first use): the skmsg
   * for everyone, and the distribution message (SKDM bytes) for devices that lack the key.
   */
  encryptForGroup(group: string, message: proto.IMessage): Promise<{ skmsg: Buffer; skdm: Buffer }> {
    return this.senderKeys.encrypt(group, { user: this.lid, device: 0 }, encodeWAMessage(message));
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

  rememberSent(id: string, message: proto.IMessage, group?: string) {
    this.sent.set(id, { message, ...(group ? { group } : {}) });
    if (this.sent.size > MAX_REMEMBERED_SENDS) this.sent.delete(this.sent.keys().next().value!);
  }

  /** Forget sessions with a device (it was unlinked; a relinked device starts fresh). */
  dropSessionsWith(lidUser: string, device: number) {
    this.sessions.delete(this.address(lidUser, device).toString());
    this.senderKeys.forgetDevice(`${lidUser}:${device}`);
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
      senderKeys: this.senderKeys.toJSON(),
      picture: this.picture,
    };
  }

  static fromJSON(raw: ReturnType<Contact['toJSON']>): Contact {
    const c = new Contact(raw.phone, raw.lid, raw.name, raw);
    c.sessions = new Map(raw.sessions);
    c.preKeys = new Map(raw.preKeys);
    c.unservedPreKeys = raw.unservedPreKeys;
    c.nextPreKeyId = raw.nextPreKeyId;
    c.inbox.push(...raw.inbox);
    // Snapshots written before groups existed have no sender keys.
    c.senderKeys = SenderKeys.fromJSON(raw.senderKeys);
    c.picture = raw.picture ?? null;
    return c;
  }
}
