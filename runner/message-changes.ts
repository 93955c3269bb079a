// Changes to messages already sent, from Baileys' shapes to our `message.change` events (protocol/runner.ts):
// edits and revokes (a protocolMessage naming its target's key), reactions (a reactionMessage) and poll votes
// (a pollUpdateMessage, encrypted with the poll's messageSecret: Baileys 7 leaves these undecrypted, so
// this module decrypts them, with the secret of a poll it saw or one the control plane stored).
// The control plane decides whether the author may make the change (worker/data/events/change-policy.ts):
// here only facts are read, never trusted.
import { createHash } from 'node:crypto';
import { decryptPollVote, jidNormalizedUser, normalizeMessageContent, proto, toNumber, type WAMessage } from '@whiskeysockets/baileys';
import type { MessageChange, RunnerEvent } from '../protocol/runner.js';
import { truncateUtf8 } from '../protocol/utf8.js';
import { BoundedMap } from './bounded-map.js';
import { clock } from './clock.js';
import { chatIdOf, MAX_TEXT_BYTES, senderOf } from './whatsapp-events.js';

type ChangeEvent = Extract<RunnerEvent, { type: 'message.change' }>;

/** Polls a session remembers (sent or received), for their votes. */
export const POLLS_REMEMBERED = 2000;

/** What decrypting a poll's votes takes: its secret, its options, and who created it. */
export interface PollSource {
  secret: Uint8Array;
  options: string[];
  /** The creator's JID as its key names it (our own for our polls), device suffix dropped. */
  creator: string;
}

const iso = (ms: number) => new Date(ms).toISOString();
const okId = (id: string | null | undefined): id is string => !!id && id.length <= 128;

/** The event id of the change a message carries: one per WhatsApp message, so a redelivery is the same fact. */
export const changeEventId = (messageId: string) => `chg:${messageId}`;

/** Whether a message is a change to another one (and not a message of its own). */
export const isChangeMessage = (m: WAMessage): boolean => {
  const c = normalizeMessageContent(m.message);
  const type = c?.protocolMessage?.type;
  return type === proto.Message.ProtocolMessage.Type.MESSAGE_EDIT || type === proto.Message.ProtocolMessage.Type.REVOKE || !!c?.reactionMessage || !!c?.pollUpdateMessage;
};

const textOf = (m: proto.IMessage | null | undefined): string | null => {
  const c = normalizeMessageContent(m ?? undefined);
  const text = c?.conversation ?? c?.extendedTextMessage?.text ?? c?.imageMessage?.caption ?? c?.videoMessage?.caption ?? c?.documentMessage?.caption ?? null;
  return text === null ? null : truncateUtf8(text, MAX_TEXT_BYTES);
};

/** The change a message carries, but a poll vote (which needs decrypting: see `MessageChanges`). */
export const changeOf = (m: WAMessage, now = clock.now()): ChangeEvent | null => {
  const c = normalizeMessageContent(m.message);
  const chat = m.key ? chatIdOf(m.key) : null;
  if (!c || !chat || chat.length > 128 || !okId(m.key.id)) return null;
  const seconds = toNumber(m.messageTimestamp as number | null | undefined);
  const sentMs = seconds > 0 ? seconds * 1000 : now;
  const base = (target: string, change: MessageChange, atMs: number): ChangeEvent => ({
    id: changeEventId(m.key.id!),
    at: iso(now),
    type: 'message.change',
    chat_id: chat,
    target_id: target,
    from_me: !!m.key.fromMe,
    author: m.key.fromMe ? null : senderOf(m.key),
    timestamp: iso(atMs),
    change,
  });
  const p = c.protocolMessage;
  if (p && okId(p.key?.id)) {
    const atMs = toNumber(p.timestampMs as number | null | undefined) || sentMs;
    if (p.type === proto.Message.ProtocolMessage.Type.MESSAGE_EDIT) return base(p.key.id, { kind: 'edit', text: textOf(p.editedMessage) }, atMs);
    if (p.type === proto.Message.ProtocolMessage.Type.REVOKE) return base(p.key.id, { kind: 'revoke' }, sentMs);
    return null;
  }
  const r = c.reactionMessage;
  if (r && okId(r.key?.id)) {
    const atMs = toNumber(r.senderTimestampMs as number | null | undefined) || sentMs;
    return base(r.key.id, { kind: 'reaction', emoji: truncateUtf8(r.text ?? '', 64) }, atMs);
  }
  return null;
};

/** The messageSecret and options of a poll creation message, when it is one. */
export const pollSourceOf = (m: WAMessage, ownJid: string | null): { id: string; source: PollSource } | null => {
  const c = normalizeMessageContent(m.message);
  const poll = c?.pollCreationMessage ?? c?.pollCreationMessageV2 ?? c?.pollCreationMessageV3;
  const secret = c?.messageContextInfo?.messageSecret ?? m.message?.messageContextInfo?.messageSecret;
  if (!poll || !secret?.length || !okId(m.key.id)) return null;
  const creator = m.key.fromMe ? ownJid && jidNormalizedUser(ownJid) : senderOf(m.key);
  if (!creator) return null;
  return { id: m.key.id, source: { secret, options: (poll.options ?? []).map(o => o.optionName ?? ''), creator } };
};

/** Bytes from a proto field as stored in JSON: base64, Buffer's JSON, or a Uint8Array turned into an object. */
export const bytesFromJson = (v: unknown): Uint8Array | null => {
  if (typeof v === 'string') return v ? Buffer.from(v, 'base64') : null;
  if (v && typeof v === 'object') {
    const o = v as { type?: string; data?: unknown };
    if (o.type === 'Buffer' && Array.isArray(o.data)) return Buffer.from(o.data as number[]);
    const values = Object.entries(v as Record<string, unknown>);
    if (values.length && values.every(([k, x]) => /^\d+$/.test(k) && typeof x === 'number')) return Buffer.from(values.map(([, x]) => x as number));
  }
  return null;
};

/** A stored poll (its content as proto JSON) as a PollSource; `creator` is who sent it (our JID for ours). */
export const pollSourceFromStored = (content: unknown, creator: string): PollSource | null => {
  if (!content || typeof content !== 'object') return null;
  const c = content as Record<string, { options?: { optionName?: string }[]; messageSecret?: unknown } | undefined>;
  const poll = c.pollCreationMessage ?? c.pollCreationMessageV2 ?? c.pollCreationMessageV3 ?? c.pollCreationMessageV5;
  const secret = bytesFromJson(c.messageContextInfo?.messageSecret);
  if (!poll || !secret) return null;
  return { secret, options: (poll.options ?? []).map(o => o.optionName ?? ''), creator };
};

const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * The options a vote chooses, or null when it does not decrypt with this poll's secret. WhatsApp's clients
 * name creator and voter by phone number or by LID: each pair the keys allow is tried.
 */
export const decryptVote = (
  vote: proto.Message.IPollEncValue,
  pollId: string,
  poll: PollSource,
  voters: string[],
  creators: string[] = [poll.creator],
): string[] | null => {
  if (!vote.encPayload || !vote.encIv) return null;
  for (const pollCreatorJid of creators) {
    for (const voterJid of voters) {
      try {
        const decrypted = decryptPollVote(
          { encPayload: vote.encPayload, encIv: vote.encIv },
          { pollCreatorJid, pollMsgId: pollId, pollEncKey: poll.secret, voterJid },
        );
        const byHash = new Map(poll.options.map(o => [sha256Hex(o), o]));
        return (decrypted.selectedOptions ?? []).map(h => byHash.get(Buffer.from(h).toString('hex'))).filter((o): o is string => o !== undefined);
      } catch {
        // Not this pair of names (GCM refuses): try the next.
      }
    }
  }
  return null;
};

export interface MessageChangesOptions {
  ownJids: () => { pn: string | null; lid: string | null };
  /** The poll's creation message from the control plane (the runner may not have seen it: a restart, another runner). */
  storedPoll?: (chatId: string, pollId: string) => Promise<PollSource | null>;
  /** Whether `jid` is an admin of the group (its metadata, cached by the session); undefined when unknown. */
  isGroupAdmin?: (group: string, jid: string) => Promise<boolean | undefined>;
  logger?: { warn: (o: object, msg: string) => void };
}

/** A session's changes to messages: polls remembered for their votes, admin revokes marked. */
export class MessageChanges {
  private readonly polls = new BoundedMap<string, PollSource>(POLLS_REMEMBERED);

  constructor(private readonly opts: MessageChangesOptions) {}

  /** Remembers the polls among these messages (sent or received). */
  remember(messages: WAMessage[]): void {
    const own = this.opts.ownJids().pn;
    for (const m of messages) {
      const poll = pollSourceOf(m, own);
      if (poll) this.polls.set(poll.id, poll.source);
    }
  }

  /** The change events these messages carry; poll votes decrypted, group revokes by others checked for admin rights. */
  async eventsOf(messages: WAMessage[], now = clock.now()): Promise<RunnerEvent[]> {
    const out: RunnerEvent[] = [];
    for (const m of messages) {
      try {
        const event = changeOf(m, now) ?? (await this.voteOf(m, now));
        if (!event) continue;
        if (event.change.kind === 'revoke' && event.chat_id.endsWith('@g.us')) {
          // Someone else's message (by the key the revoker names; the control plane checks the stored sender too).
          const target = normalizeMessageContent(m.message)?.protocolMessage?.key;
          const targetAuthor = target?.participant ? jidNormalizedUser(target.participant) : null;
          const revoker = event.from_me ? this.opts.ownJids().pn : event.author;
          const others = event.from_me ? !target?.fromMe : targetAuthor !== event.author;
          if (others && revoker) {
            const admin = await this.opts.isGroupAdmin?.(event.chat_id, jidNormalizedUser(revoker)).catch(() => undefined);
            if (admin !== undefined) event.by_admin = admin;
          }
        }
        out.push(event);
      } catch (err) {
        this.opts.logger?.warn({ err: (err as Error).message, id: m.key.id }, 'message change not read');
      }
    }
    return out;
  }

  private async voteOf(m: WAMessage, now: number): Promise<ChangeEvent | null> {
    const c = normalizeMessageContent(m.message);
    const update = c?.pollUpdateMessage;
    const pollKey = update?.pollCreationMessageKey;
    const chat = m.key ? chatIdOf(m.key) : null;
    if (!update?.vote || !okId(pollKey?.id) || !chat || !okId(m.key.id)) return null;
    let poll: PollSource | null | undefined = this.polls.get(pollKey.id);
    if (!poll && this.opts.storedPoll) {
      poll = await this.opts.storedPoll(chat, pollKey.id);
      if (poll) this.polls.set(pollKey.id, poll);
    }
    if (!poll) {
      this.opts.logger?.warn({ poll_id: pollKey.id }, 'vote for a poll this runner cannot find: not counted');
      return null;
    }
    const { pn, lid } = this.opts.ownJids();
    const own = [pn, lid].filter((j): j is string => !!j).map(j => jidNormalizedUser(j));
    const k = m.key as { participant?: string | null; participantAlt?: string; remoteJid?: string | null; remoteJidAlt?: string };
    const voters = m.key.fromMe ? own : [k.participantAlt, k.participant, k.remoteJidAlt, k.remoteJid].filter((j): j is string => !!j && !j.endsWith('@g.us')).map(j => jidNormalizedUser(j));
    const options = decryptVote(update.vote, pollKey.id, poll, [...new Set(voters)], [...new Set([poll.creator, ...(pollKey.fromMe ? own : [])])]);
    if (!options) {
      this.opts.logger?.warn({ poll_id: pollKey.id }, 'poll vote did not decrypt: not counted');
      return null;
    }
    const seconds = toNumber(m.messageTimestamp as number | null | undefined);
    const atMs = toNumber(update.senderTimestampMs as number | null | undefined) || (seconds > 0 ? seconds * 1000 : now);
    return {
      id: changeEventId(m.key.id),
      at: iso(now),
      type: 'message.change',
      chat_id: chat,
      target_id: pollKey.id,
      from_me: !!m.key.fromMe,
      author: m.key.fromMe ? null : senderOf(m.key),
      timestamp: iso(atMs),
      change: { kind: 'poll_vote', options },
    };
  }
}

/**
 * A poll stored by the control plane (GET /internal/messages/:pk/:id, lease holder only), as a PollSource;
 * null when it is not stored, not a poll, or has no secret. `ownJid`: the creator of our own polls.
 */
export async function fetchStoredPoll(
  opts: { controlPlaneUrl: string; token: string; connectionPk: string; epoch: number; ownJid: () => string | null },
  chatId: string,
  pollId: string,
): Promise<PollSource | null> {
  const url = new URL(`/internal/messages/${opts.connectionPk}/${encodeURIComponent(pollId)}`, opts.controlPlaneUrl);
  url.searchParams.set('epoch', String(opts.epoch));
  url.searchParams.set('chat_id', chatId);
  const res = await fetch(url, { headers: { authorization: `Bearer ${opts.token}` }, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) return null;
  const stored = (await res.json()) as { direction?: string; from?: string | null; content?: unknown };
  const own = opts.ownJid();
  const creator = stored.direction === 'outbound' ? own && jidNormalizedUser(own) : stored.from;
  return creator ? pollSourceFromStored(stored.content, creator) : null;
}
