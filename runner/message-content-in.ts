// A received (or echoed) message's content as the gateway stores it: the structured shape of its type
// (protocol/inbound-content.ts), what it quotes and mentions, and the Baileys content itself (bounded) that a
// reply quoting it or a forward of it is built from. The Baileys side of that mapping; pure.
import { getContentType, type proto } from '@whiskeysockets/baileys';
import { messageContextOf, structuredContentOf } from '../protocol/inbound-content.js';
import type { WireMessage } from '../protocol/runner.js';

type Stored = Pick<WireMessage, 'content' | 'proto' | 'reply_to' | 'mentions'>;

/**
 * `content` (normalized: ephemeral, view-once and caption wrappers removed) as stored. `bounded` is the Baileys
 * content as JSON when it is small enough, else null: the fallback for kinds without a shape of their own.
 */
export const inboundContentOf = (content: proto.IMessage, bounded: (m: proto.IMessage) => unknown): Stored => {
  const key = getContentType(content);
  const body = key ? (content as Record<string, unknown>)[key] : undefined;
  const { reply_to, mentions } = messageContextOf(body);
  const text = key === 'conversation' || key === 'extendedTextMessage';
  const raw = text ? null : bounded(content);
  const structured = key && !text ? structuredContentOf(key, body) : undefined;
  return { content: text ? null : (structured ?? raw), proto: raw, reply_to, mentions };
};
