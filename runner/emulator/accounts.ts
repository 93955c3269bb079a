// WhatsApp accounts held by the emulated phones: phone number, LID, display name, the phone's
// account signing key (ADV), and the companion devices linked to it with their Signal key bundles.
import { Curve, type BinaryNode } from '@whiskeysockets/baileys';
import * as keyhelper from 'libsignal/src/keyhelper.js';
import { Contact } from './contacts.js';
import type { KeyPair } from './noise.js';

export type SignedPreKey = { keyId: number; public: Buffer; signature: Buffer };

/** What a linked device uploaded: enough for anyone to start a Signal session with it. */
export type DeviceBundle = {
  registrationId: number;
  identity: Buffer;
  signedPreKey: SignedPreKey;
  /** One-time pre-keys not yet handed out. Each is served once only. */
  preKeys: Map<number, Buffer>;
};

export type LinkedDevice = {
  id: number;
  noiseKey: Buffer;
  keyIndex: number;
  platform: string;
  bundle: DeviceBundle;
  /** Stanzas waiting for the device to come online (counted in <offline count>). */
  offline: BinaryNode[];
  linkedAt: number;
  /** Whether the phone already sent this device its initial history-sync notification. */
  historySynced?: boolean;
};

export class Account {
  readonly devices = new Map<number, LinkedDevice>();
  private nextDeviceId = 1;
  private nextKeyIndex = 1;
  /** The phone itself as Signal device 0; its identity key is the account key, as on WhatsApp. */
  primaryDevice: Contact;
  /** The phone's address book: number → the name saved for it. A newly linked device gets it in its history sync. */
  addressBook = new Map<string, string>();

  constructor(
    readonly phone: string,
    readonly lid: string,
    public name: string,
    /** The phone's ADV account key: signs each companion's device identity. */
    readonly accountKey: KeyPair = Curve.generateKeyPair(),
  ) {
    const identity = { pubKey: Buffer.concat([Buffer.from([5]), accountKey.public]), privKey: Buffer.from(accountKey.private) };
    this.primaryDevice = new Contact(phone, lid, name, {
      identity,
      registrationId: keyhelper.generateRegistrationId(),
      signedPreKey: keyhelper.generateSignedPreKey(identity, 1),
    });
  }

  get pnJid() {
    return `${this.phone}@s.whatsapp.net`;
  }
  get lidJid() {
    return `${this.lid}@lid`;
  }
  deviceJid(device: number) {
    return `${this.phone}:${device}@s.whatsapp.net`;
  }
  deviceLid(device: number) {
    return `${this.lid}:${device}@lid`;
  }

  reserveDevice(): { id: number; keyIndex: number } {
    return { id: this.nextDeviceId++, keyIndex: this.nextKeyIndex++ };
  }

  link(device: LinkedDevice) {
    this.devices.set(device.id, device);
  }

  unlink(deviceId: number): boolean {
    return this.devices.delete(deviceId);
  }

  findByNoiseKey(noiseKey: Buffer): LinkedDevice | undefined {
    for (const d of this.devices.values()) if (d.noiseKey.equals(noiseKey)) return d;
    return undefined;
  }

  toJSON() {
    return {
      phone: this.phone,
      lid: this.lid,
      name: this.name,
      accountKey: this.accountKey,
      nextDeviceId: this.nextDeviceId,
      nextKeyIndex: this.nextKeyIndex,
      primaryDevice: this.primaryDevice.toJSON(),
      addressBook: [...this.addressBook],
      devices: [...this.devices.values()].map(d => ({ ...d, bundle: { ...d.bundle, preKeys: [...d.bundle.preKeys] } })),
    };
  }

  static fromJSON(raw: ReturnType<Account['toJSON']>): Account {
    const a = new Account(raw.phone, raw.lid, raw.name, raw.accountKey);
    a.nextDeviceId = raw.nextDeviceId;
    a.nextKeyIndex = raw.nextKeyIndex;
    a.primaryDevice = Contact.fromJSON(raw.primaryDevice);
    a.addressBook = new Map(raw.addressBook ?? []);
    for (const d of raw.devices) a.link({ ...d, bundle: { ...d.bundle, preKeys: new Map(d.bundle.preKeys) } });
    return a;
  }
}
