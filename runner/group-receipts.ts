// The status of a message we sent to a group. Receipts arrive one participant at a time; WhatsApp's own
// apps show a group message delivered (two ticks) once every other participant has received it, and read
// once every other participant has read it. This tally turns the receipts into that status.
//
// A participant may appear under its LID or its phone-number JID (receipts in a LID-addressed group name
// the LID; metadata lists both), so each member is a set of identities. Bounded: the last `max` group
// messages of the session; a restarted runner has forgotten the tally, and late receipts then change
// nothing (the message keeps the status it had).

import { BoundedMap } from './bounded-map.js';

export type GroupReceiptKind = 'delivered' | 'read';

type Tally = { members: string[][]; delivered: Set<number>; read: Set<number>; status?: GroupReceiptKind };

export class GroupReceipts {
  private readonly messages: BoundedMap<string, Tally>;

  constructor(max = 2000) {
    this.messages = new BoundedMap(max);
  }

  /** A message about to go to a group; `members` are the other participants, each with its JIDs. */
  expect(messageId: string, members: string[][]): void {
    this.messages.set(messageId, { members: members.filter(ids => ids.length > 0), delivered: new Set(), read: new Set() });
  }

  /** One participant's receipt; answers the message's new status when this receipt completed one. */
  receipt(messageId: string, userJid: string, kind: GroupReceiptKind): GroupReceiptKind | undefined {
    const tally = this.messages.get(messageId);
    if (!tally) return undefined;
    const member = tally.members.findIndex(ids => ids.includes(userJid));
    if (member < 0) return undefined;
    tally.delivered.add(member); // a read receipt says it arrived, too
    if (kind === 'read') tally.read.add(member);
    const all = tally.members.length;
    const status: GroupReceiptKind | undefined = tally.read.size === all ? 'read' : tally.delivered.size === all ? 'delivered' : undefined;
    if (!status || status === tally.status) return undefined;
    tally.status = status;
    if (status === 'read') this.messages.delete(messageId); // nothing further can change
    return status;
  }
}
