// Calls, as WhatsApp's server relays them: a contact rings an account (`<call><offer/></call>` to every
// linked device, online now or queued for its next login, when it arrives marked `offline`), and a device
// may reject it (`<call><reject/></call>`, answered with an `<ack class="call">` as the server does). No
// media flows; what tests need is who rang, who rejected and when (GET /control/calls).
import type { BinaryNode } from '@whiskeysockets/baileys';
import type { Account } from './accounts.js';
import type { Contact } from './contacts.js';
import type { Network } from './network.js';
import type { Connection } from './session.js';
import { children, newMessageId, now } from './stanzas.js';

export type CallRecord = {
  id: string;
  /** The calling contact's phone, and the account rung. */
  from: string;
  to: string;
  video: boolean;
  state: 'ringing' | 'rejected';
  /** The device JID that rejected it. */
  rejectedBy: string | null;
  at: number;
  rejectedAt: number | null;
};

const MAX_CALLS = 1000;

/** The contact calls the account: every linked device is offered the call. */
export function placeCall(net: Network, contact: Contact, account: Account, opts: { video?: boolean } = {}): CallRecord {
  const call: CallRecord = { id: newMessageId(), from: contact.phone, to: account.phone, video: !!opts.video, state: 'ringing', rejectedBy: null, at: Date.now(), rejectedAt: null };
  net.calls.push(call);
  if (net.calls.length > MAX_CALLS) net.calls.splice(0, net.calls.length - MAX_CALLS);
  const creator = contact.senderAttrs().from!;
  const media: BinaryNode[] = [
    { tag: 'audio', attrs: { enc: 'opus', rate: '16000' }, content: undefined },
    { tag: 'audio', attrs: { enc: 'opus', rate: '8000' }, content: undefined },
    ...(call.video ? [{ tag: 'video', attrs: { enc: 'vp8', dec: 'vp8', orientation: '0', screen_width: '1920', screen_height: '1080', device_orientation: '0' }, content: undefined }] : []),
  ];
  for (const device of account.devices.values()) {
    net.deliver(account, device, {
      tag: 'call',
      attrs: { from: creator, id: newMessageId(), t: String(now()), notify: contact.name },
      content: [
        {
          tag: 'offer',
          attrs: { 'call-id': call.id, 'call-creator': creator, ...(contact.addressing.mode === 'lid' ? { caller_pn: contact.pnJid } : {}) },
          content: media,
        },
      ],
    });
  }
  net.onChange();
  return call;
}

/** A `<call>` from a device: a reject is recorded and acked; anything else (accept, terminate) is only acked. */
export function acceptDeviceCall(net: Network, conn: Connection, node: BinaryNode): void {
  const [info] = children(node);
  const id = node.attrs.id;
  if (info?.tag === 'reject') {
    const call = net.calls.find(c => c.id === info.attrs['call-id'] && c.to === conn.account?.phone);
    if (call && call.state === 'ringing') {
      call.state = 'rejected';
      call.rejectedBy = conn.account!.deviceJid(conn.device!.id);
      call.rejectedAt = Date.now();
      net.onChange();
    }
  }
  if (id) conn.send({ tag: 'ack', attrs: { id, class: 'call', ...(info ? { type: info.tag } : {}), from: node.attrs.to ?? 's.whatsapp.net' } });
}
