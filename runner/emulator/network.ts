// The emulated WhatsApp network: accounts (with their linked devices), contacts, live
// connections, and delivery between them (online now, or queued until the device logs in).
import type { CallRecord } from './calls.js';
import type { CertChainFault } from './certificates.js';
import type { PairingSignatureFault } from './pairing.js';
import type { BinaryNode } from '@whiskeysockets/baileys';
import { randomInt } from 'node:crypto';
import { Account, type LinkedDevice } from './accounts.js';
import { Contact } from './contacts.js';
import { defaultPolicy, type FaultPolicy } from './faults.js';
import { Group, memberOf, newGroupJid, normalizeGroupJid, type AddressingMode } from './groups.js';
import { MediaStore } from './media.js';
import type { Connection } from './session.js';

export type ReceiptRecord = {
  direction: 'gateway-to-contact' | 'contact-to-gateway';
  contact: string;
  account: string;
  device?: number;
  ids: string[];
  type: 'delivery' | 'read' | string;
  t: number;
  /** When the emulator got it, in ms (Date.now): what latency is measured against. */
  at: number;
  /** Set for receipts of group messages. */
  group?: string;
};

/** A presence (`available` / `unavailable`) or chat state (`composing`, `recording`, `paused` to a chat) a gateway device sent. */
export type PresenceRecord = {
  kind: 'presence' | 'chatstate';
  account: string;
  device?: number;
  type: string;
  /** A chat state's chat (the jid it was sent to). */
  to?: string;
  at: number;
};

/** Presences kept at most (the oldest go first). */
export const MAX_PRESENCES = 1000;

export type DecryptFailure = { contact: string; id: string; error: string; at: number };

export type UnknownQuery = { xmlns: string; type: string; child: string; from: string; at: number };

export type PairingCodeRequest = {
  phone: string;
  ref: string;
  conn: Connection;
  wrappedCompanionEphemeral: Buffer;
  companionNoiseKey: Buffer;
  platformDisplay: string;
  requestedAt: number;
};

const randomDigits = (n: number) => Array.from({ length: n }, (_, i) => (i === 0 ? randomInt(1, 10) : randomInt(0, 10))).join('');

export class Network {
  readonly accounts = new Map<string, Account>();
  readonly contacts = new Map<string, Contact>();
  /** Groups by jid (…@g.us). */
  readonly groups = new Map<string, Group>();
  /**
   * Numbers as people dial them that WhatsApp knows under another number (Brazil's ninth digit: an account
   * registered as 55 11 8765-4321 is dialled 55 11 98765-4321). WhatsApp's contact lookup answers the
   * registered JID; the dialled JID itself has no devices, so a message sent to it goes nowhere.
   */
  readonly dialledAs = new Map<string, string>();
  readonly connections = new Set<Connection>();
  readonly qrRefs = new Map<string, Connection>();
  readonly pairingRequests = new Map<string, PairingCodeRequest>();
  readonly receipts: ReceiptRecord[] = [];
  readonly presences: PresenceRecord[] = [];
  readonly unknownQueries: UnknownQuery[] = [];
  readonly decryptFailures: DecryptFailure[] = [];
  /** Media retry requests gateways sent (media-retry.ts), newest last. */
  readonly mediaRetries: { id: string; account: string | null; at: number }[] = [];
  /** Calls contacts placed (calls.ts), newest last. */
  readonly calls: CallRecord[] = [];
  readonly policies = new Map<string, FaultPolicy>();
  /** Which gateway device sent a message id (and to which group), so receipts from contacts go back to it. */
  readonly sentByGateway = new Map<string, { phone: string; device: number; group?: string }>();
  /** Uploaded media blobs (in memory only) and the media host Baileys is sent to. */
  readonly media: MediaStore;
  /** Contacts whose privacy settings refuse being added to groups (WhatsApp answers 403; an invite is needed). */
  readonly refusesGroupAdds = new Set<string>();
  /** Contacts' phones confirm delivery as soon as they decrypt (turn off to script receipts by hand). */
  autoDeliveryReceipts = true;
  /** The certificate chain new connections are served: the honest one, or a forgery (a hostile server). */
  certChain: 'honest' | CertChainFault = 'honest';
  /** How the account signs a new link's device identity (a fault: the companion must refuse it). */
  pairingSignature: 'honest' | PairingSignatureFault = 'honest';
  /** Called after state changes worth persisting. */
  onChange: () => void = () => {};

  constructor(opts: { mediaStoreBytes?: number } = {}) {
    this.media = new MediaStore(opts.mediaStoreBytes);
  }

  createAccount(opts: { phone?: string; name?: string; lid?: string } = {}): Account {
    const phone = opts.phone ?? `1555${randomDigits(7)}`;
    if (!/^\d{6,15}$/.test(phone)) throw new Error('phone must be 6-15 digits');
    if (this.accounts.has(phone) || this.contacts.has(phone)) throw new Error(`phone ${phone} already exists`);
    const account = new Account(phone, opts.lid ?? randomDigits(15), opts.name ?? `Sandbox ${phone.slice(-4)}`);
    this.accounts.set(phone, account);
    this.onChange();
    return account;
  }

  createContact(opts: { phone?: string; name?: string; lid?: string } = {}): Contact {
    const phone = opts.phone ?? `1556${randomDigits(7)}`;
    if (!/^\d{6,15}$/.test(phone)) throw new Error('phone must be 6-15 digits');
    if (this.accounts.has(phone) || this.contacts.has(phone)) throw new Error(`phone ${phone} already exists`);
    const contact = new Contact(phone, opts.lid ?? randomDigits(15), opts.name ?? `Contact ${phone.slice(-4)}`);
    this.contacts.set(phone, contact);
    this.onChange();
    return contact;
  }

  /** A group of contacts and/or accounts, given by phone number; the first member (or `creator`) created it. */
  createGroup(opts: { subject: string; participants: string[]; creator?: string; addressingMode?: AddressingMode }): Group {
    const participants = [...new Set(opts.participants)];
    if (!opts.subject) throw new Error('subject must not be empty');
    if (participants.length === 0) throw new Error('a group needs participants');
    for (const phone of participants) if (!memberOf(this, phone)) throw new Error(`no contact or account ${phone}`);
    const creator = opts.creator ?? participants[0]!;
    if (!participants.includes(creator)) throw new Error(`creator ${creator} must be a participant`);
    const jid = newGroupJid(j => this.groups.has(j));
    const group = new Group(jid, opts.subject, creator, Math.floor(Date.now() / 1000), participants, opts.addressingMode ?? 'lid');
    this.groups.set(jid, group);
    this.onChange();
    return group;
  }

  group(jid: string): Group {
    const g = this.groups.get(normalizeGroupJid(jid));
    if (!g) throw new Error(`no group ${jid}`);
    return g;
  }

  /** Records that `dialled` reaches the contact or account registered as `phone` (see dialledAs). */
  addDialledNumber(dialled: string, phone: string): void {
    if (!/^\d{6,15}$/.test(dialled)) throw new Error('number must be 6-15 digits');
    if (!memberOf(this, phone)) throw new Error(`no contact or account ${phone}`);
    if (memberOf(this, dialled)) throw new Error(`${dialled} is a registered number itself`);
    this.dialledAs.set(dialled, phone);
    this.onChange();
  }

  /** Resolves a jid's user part (phone number or LID) to whoever owns it. */
  resolve(jid: string): { kind: 'contact'; contact: Contact } | { kind: 'account'; account: Account } | undefined {
    const user = jid.split('@')[0]!.split(':')[0]!;
    const server = jid.split('@')[1];
    for (const contact of this.contacts.values()) {
      if ((server === 'lid' ? contact.lid : contact.phone) === user) return { kind: 'contact', contact };
    }
    for (const account of this.accounts.values()) {
      if ((server === 'lid' ? account.lid : account.phone) === user) return { kind: 'account', account };
    }
    return undefined;
  }

  contact(phone: string): Contact {
    const c = this.contacts.get(phone);
    if (!c) throw new Error(`no contact ${phone}`);
    return c;
  }

  account(phone: string): Account {
    const a = this.accounts.get(phone);
    if (!a) throw new Error(`no account ${phone}`);
    return a;
  }

  policy(phone: string): FaultPolicy {
    let p = this.policies.get(phone);
    if (!p) this.policies.set(phone, (p = defaultPolicy()));
    return p;
  }

  /** The live, logged-in connection of a linked device, if any. */
  online(account: Account, deviceId: number): Connection | undefined {
    for (const conn of this.connections) {
      if (!conn.closed && conn.account === account && conn.device?.id === deviceId) return conn;
    }
    return undefined;
  }

  connectionsOf(account: Account, deviceId?: number): Connection[] {
    return [...this.connections].filter(c => !c.closed && c.account === account && (deviceId === undefined || c.device?.id === deviceId));
  }

  /** Hands a stanza to a device now, or queues it for its next login. */
  deliver(account: Account, device: LinkedDevice, node: BinaryNode) {
    const conn = this.online(account, device.id);
    if (conn) {
      if (node.tag === 'message' && node.attrs.id) conn.unacked.set(node.attrs.id, node);
      conn.send(node);
    } else {
      device.offline.push(node);
      this.onChange();
    }
  }

  /**
   * At login: what queued for the device goes out on `conn`, each message kept as unacked (the server's
   * until the device acks it, so a stream that ends first gets it again). How many went out.
   */
  sendOfflineQueue(conn: Connection, device: LinkedDevice): number {
    const queued = device.offline.splice(0);
    for (const node of queued) {
      if (node.tag === 'message' && node.attrs.id) conn.unacked.set(node.attrs.id, node);
      // A call that rang while the device was away arrives marked offline, as WhatsApp marks it: it has ended.
      conn.send(node.tag === 'call' ? { ...node, attrs: { ...node.attrs, offline: '0' } } : node);
    }
    if (queued.length) this.onChange();
    return queued.length;
  }

  /** A connection closed: what it was given but never acked goes back to its device's offline queue. */
  requeueUnacked(conn: Connection) {
    if (!conn.account || !conn.device || conn.unacked.size === 0) return;
    const device = conn.account.devices.get(conn.device.id);
    if (!device) return;
    device.offline.unshift(...conn.unacked.values());
    conn.unacked.clear();
    this.onChange();
  }

  reset() {
    for (const conn of this.connections) conn.drop();
    this.connections.clear();
    this.accounts.clear();
    this.contacts.clear();
    this.groups.clear();
    this.refusesGroupAdds.clear();
    this.dialledAs.clear();
    this.qrRefs.clear();
    this.pairingRequests.clear();
    this.receipts.length = 0;
    this.presences.length = 0;
    this.unknownQueries.length = 0;
    this.decryptFailures.length = 0;
    this.mediaRetries.length = 0;
    this.calls.length = 0;
    this.policies.clear();
    this.certChain = 'honest';
    this.pairingSignature = 'honest';
    this.sentByGateway.clear();
    this.media.clear();
    this.onChange();
  }

  recordPresence(p: PresenceRecord) {
    this.presences.push(p);
    if (this.presences.length > MAX_PRESENCES) this.presences.splice(0, this.presences.length - MAX_PRESENCES);
  }

  toJSON() {
    return {
      accounts: [...this.accounts.values()].map(a => a.toJSON()),
      contacts: [...this.contacts.values()].map(c => c.toJSON()),
      groups: [...this.groups.values()].map(g => g.toJSON()),
      dialledAs: [...this.dialledAs],
      receipts: this.receipts,
      sentByGateway: [...this.sentByGateway],
    };
  }

  restore(raw: ReturnType<Network['toJSON']>) {
    for (const a of raw.accounts) {
      const account = Account.fromJSON(a);
      this.accounts.set(account.phone, account);
    }
    for (const c of raw.contacts) {
      const contact = Contact.fromJSON(c);
      this.contacts.set(contact.phone, contact);
    }
    // Snapshots written before groups existed have none.
    for (const g of raw.groups ?? []) this.groups.set(g.jid, Group.fromJSON(g));
    for (const [dialled, phone] of raw.dialledAs ?? []) this.dialledAs.set(dialled, phone);
    this.receipts.push(...raw.receipts);
    for (const [k, v] of raw.sentByGateway) this.sentByGateway.set(k, v);
  }
}
