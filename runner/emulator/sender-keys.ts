// Group sender keys of one emulated Signal peer (a contact, or an account's phone), built on
// Baileys' own sender-key implementation (lib/Signal/Group) so both ends run the same algorithm:
// the peer's own key per group (created once, distributed with SenderKeyDistributionMessages),
// the keys other members distributed to it, and which devices already hold its key.
import { BufferJSON } from '@whiskeysockets/baileys';
import {
  GroupCipher,
  GroupSessionBuilder,
  SenderKeyDistributionMessage,
  SenderKeyName,
  SenderKeyRecord,
} from '@whiskeysockets/baileys/lib/Signal/Group/index.js';

/** A group member's sending device: user (LID user part) and device id. */
export type SenderAddress = { user: string; device: number };

const keyName = (group: string, sender: SenderAddress) =>
  new SenderKeyName(group, { id: sender.user, deviceId: sender.device, toString: () => `${sender.user}.${sender.device}` });

export class SenderKeys {
  /** Sender-key records by SenderKeyName, as JSON (Buffers in Baileys' BufferJSON form) so they persist as they are. */
  private records = new Map<string, string>();
  /** Per group: the devices ("<lid user>:<device>") that already received this peer's own sender key. */
  private distributed = new Map<string, Set<string>>();

  private readonly store = {
    loadSenderKey: async (name: SenderKeyName) => {
      const raw = this.records.get(name.toString());
      return new SenderKeyRecord(raw ? JSON.parse(raw, BufferJSON.reviver) : undefined);
    },
    storeSenderKey: async (name: SenderKeyName, record: SenderKeyRecord) => {
      this.records.set(name.toString(), JSON.stringify(record.serialize(), BufferJSON.replacer));
    },
  };

  /** Files the sender key another member distributed (the bytes of axolotlSenderKeyDistributionMessage). */
  async process(group: string, sender: SenderAddress, skdm: Uint8Array) {
    const message = new SenderKeyDistributionMessage(null, null, null, null, skdm);
    await new GroupSessionBuilder(this.store).process(keyName(group, sender), message);
  }

  /** Decrypts an skmsg from `sender`; throws when its key never arrived. Returns the padded plaintext. */
  async decrypt(group: string, sender: SenderAddress, skmsg: Uint8Array): Promise<Uint8Array> {
    if (!this.records.has(keyName(group, sender).toString())) throw new Error(`no sender key from ${sender.user}:${sender.device} in ${group}`);
    return new GroupCipher(this.store, keyName(group, sender)).decrypt(skmsg);
  }

  /**
   * Encrypts with this peer's own key for the group (created on first use). Returns the skmsg and
   * the distribution message, for the devices that do not have the key yet.
   */
  async encrypt(group: string, self: SenderAddress, padded: Uint8Array): Promise<{ skmsg: Buffer; skdm: Buffer }> {
    const name = keyName(group, self);
    const skdm = await new GroupSessionBuilder(this.store).create(name);
    const skmsg = await new GroupCipher(this.store, name).encrypt(padded);
    return { skmsg: Buffer.from(skmsg), skdm: Buffer.from(skdm.serialize()) };
  }

  /** The distribution message for this peer's own key in its current state (created if needed), without encrypting anything. */
  async distribution(group: string, self: SenderAddress): Promise<{ skdm: Buffer }> {
    const skdm = await new GroupSessionBuilder(this.store).create(keyName(group, self));
    return { skdm: Buffer.from(skdm.serialize()) };
  }

  hasDistributedTo(group: string, deviceKey: string) {
    return this.distributed.get(group)?.has(deviceKey) ?? false;
  }

  markDistributed(group: string, deviceKey: string) {
    let set = this.distributed.get(group);
    if (!set) this.distributed.set(group, (set = new Set()));
    set.add(deviceKey);
  }

  /** The device lost its state with us (unlinked, or asked for a retry): it needs the key again. */
  forgetDevice(deviceKey: string) {
    for (const set of this.distributed.values()) set.delete(deviceKey);
  }

  toJSON() {
    return { records: [...this.records], distributed: [...this.distributed].map(([group, set]) => [group, [...set]] as [string, string[]]) };
  }

  static fromJSON(raw: ReturnType<SenderKeys['toJSON']> | undefined): SenderKeys {
    const keys = new SenderKeys();
    if (!raw) return keys;
    keys.records = new Map(raw.records);
    keys.distributed = new Map(raw.distributed.map(([group, list]) => [group, new Set(list)]));
    return keys;
  }
}
