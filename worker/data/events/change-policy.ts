// Who may change a stored message, and what a change does to it: the pure fold behind message.change events
// (changes.ts applies it inside the batch's transaction). A contact is hostile input: WhatsApp relays an edit
// or a revoke naming any message id, and Baileys does not check that its author wrote that message, so the
// check is here, against the sender we stored. Every change is idempotent and order-tolerant: applying one
// twice, or an older one after a newer one, changes nothing.
import type { MessageEdit, MessageReaction, PollVote } from '../../../protocol/messages';
import type { MessageChange } from '../../../protocol/runner';

/** What of a stored message a change can read or write. */
export interface ChangeableMessage {
  chatId: string;
  direction: 'inbound' | 'outbound';
  /** The stored sender (inbound); null for our own. */
  fromJid: string | null;
  type: string;
  text: string | null;
  editedAt: Date | null;
  deletedAt: Date | null;
  edits: MessageEdit[];
  reactions: MessageReaction[];
  pollVotes: PollVote[] | null;
}

/** A change as the runner reported it (protocol/runner.ts, message.change). */
export interface ChangeFact {
  fromMe: boolean;
  author: string | null;
  byAdmin?: boolean;
  timestamp: string;
  change: MessageChange;
}

export type ChangeEffect =
  | { event: 'message.updated'; change: 'edit' | 'reaction' | 'poll_vote'; by: string | null; at: string }
  | { event: 'message.deleted'; scope: 'everyone'; by: string | null; at: string };

export type ChangeVerdict =
  | { applied: true; message: ChangeableMessage; effect: ChangeEffect }
  /** `refused`: its author may not make it (counted and logged); `unchanged`: already applied, or older than what is stored. */
  | { applied: false; reason: 'refused' | 'unchanged' };

/** Whether the change's author is the message's sender: our devices for our own, the stored sender otherwise. */
export const isSenderOf = (m: Pick<ChangeableMessage, 'direction' | 'fromJid'>, f: Pick<ChangeFact, 'fromMe' | 'author'>): boolean =>
  f.fromMe ? m.direction === 'outbound' : m.direction === 'inbound' && !!f.author && !!m.fromJid && sameUser(m.fromJid, f.author);

/** Two JIDs of the same user (device suffixes and case aside). */
const sameUser = (a: string, b: string) => userOf(a) === userOf(b);
const userOf = (jid: string) => {
  const [user = '', server = ''] = jid.toLowerCase().split('@');
  return `${user.split(':')[0]}@${server}`;
};

const isGroup = (chatId: string) => chatId.endsWith('@g.us');
/** A poll: one we sent through the API ('poll'), or one received or sent elsewhere (Baileys' pollCreation…). */
const isPoll = (type: string) => type === 'poll' || type.startsWith('pollCreation');
const ms = (iso: string) => new Date(iso).getTime();

export function applyChange(m: ChangeableMessage, f: ChangeFact): ChangeVerdict {
  const by = f.fromMe ? null : f.author;
  const at = new Date(f.timestamp).toISOString();
  const applied = (message: ChangeableMessage, effect: ChangeEffect): ChangeVerdict => ({ applied: true, message, effect });
  switch (f.change.kind) {
    case 'edit': {
      if (!isSenderOf(m, f)) return { applied: false, reason: 'refused' };
      // A revoked message stays revoked; an edit no newer than the last one is a replay or arrived late.
      if (m.deletedAt || (m.editedAt && ms(at) <= m.editedAt.getTime())) return { applied: false, reason: 'unchanged' };
      if (f.change.text === m.text) return { applied: false, reason: 'unchanged' };
      const edits = [...m.edits, { message: m.text, replaced_at: at }];
      return applied({ ...m, text: f.change.text, editedAt: new Date(at), edits }, { event: 'message.updated', change: 'edit', by, at });
    }
    case 'revoke': {
      const mayRevoke = isSenderOf(m, f) || (isGroup(m.chatId) && f.byAdmin === true);
      if (!mayRevoke) return { applied: false, reason: 'refused' };
      if (m.deletedAt) return { applied: false, reason: 'unchanged' };
      return applied({ ...m, deletedAt: new Date(at) }, { event: 'message.deleted', scope: 'everyone', by, at });
    }
    case 'reaction': {
      const emoji = f.change.emoji;
      const earlier = m.reactions.find((r) => r.from === by);
      if (earlier && ms(earlier.at) >= ms(at)) return { applied: false, reason: 'unchanged' };
      if (!earlier && emoji === '') return { applied: false, reason: 'unchanged' };
      const others = m.reactions.filter((r) => r.from !== by);
      const reactions = emoji === '' ? others : [...others, { from: by, emoji, at }];
      return applied({ ...m, reactions }, { event: 'message.updated', change: 'reaction', by, at });
    }
    case 'poll_vote': {
      if (!isPoll(m.type)) return { applied: false, reason: 'refused' };
      const votes = m.pollVotes ?? [];
      const earlier = votes.find((v) => v.voter === by);
      if (earlier && ms(earlier.at) >= ms(at)) return { applied: false, reason: 'unchanged' };
      const pollVotes = [...votes.filter((v) => v.voter !== by), { voter: by, options: [...new Set(f.change.options)], at }];
      return applied({ ...m, pollVotes }, { event: 'message.updated', change: 'poll_vote', by, at });
    }
  }
}
