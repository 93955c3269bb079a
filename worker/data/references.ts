// The stored messages a send refers to: the one a reply quotes and the one a reaction reacts to (both in
// the chat the send goes to), the one a forward sends (any chat of the connection). Their WhatsApp keys and
// content come from these rows, so an id the connection never saw is refused before anything is recorded.
import { and, eq } from 'drizzle-orm';
import { messages } from '../../drizzle/schema';
import type { SendMessageBody } from '../../protocol/messages';
import { ApiError } from '../http/errors';
import { forwardedOf, type References } from '../lib/send-kinds';
import type { Db } from './db';
import type { MessageRow } from './messages';

/** A message of this connection by its WhatsApp id, in `chatId` when given (ids are unique per connection). */
async function storedMessage(db: Db, connectionPk: string, providerMessageId: string, chatId?: string): Promise<MessageRow | undefined> {
  const [row] = await db
    .select()
    .from(messages)
    .where(
      and(
        eq(messages.connectionPk, connectionPk),
        eq(messages.providerMessageId, providerMessageId),
        chatId === undefined ? undefined : eq(messages.chatId, chatId),
      ),
    )
    .limit(1);
  return row;
}

/** Whether a send refers to a stored message at all (then the route looks it up before recording the send). */
export const refersToStored = (body: SendMessageBody) => body.reply_to !== undefined || body.reaction !== undefined || body.forward !== undefined;

/** The rows `body` refers to; 400 `unknown_message` for one the connection does not have, `message_not_forwardable` for a forward it cannot make. */
export async function referencesOf(db: Db, connectionPk: string, chatId: string, body: SendMessageBody): Promise<References> {
  const inChat = async (id: string, field: string) => {
    const row = await storedMessage(db, connectionPk, id, chatId);
    if (!row) throw new ApiError(400, 'unknown_message', `${field} "${id}" is no message of this connection in the chat with ${body.to}.`);
    return row;
  };
  const refs: References = {};
  if (body.reply_to !== undefined) refs.replyTo = await inChat(body.reply_to, 'reply_to');
  if (body.reaction) refs.reacted = await inChat(body.reaction.message_id, 'reaction.message_id');
  if (body.forward) {
    const id = body.forward.message_id;
    const row = await storedMessage(db, connectionPk, id);
    if (!row) throw new ApiError(400, 'unknown_message', `forward.message_id "${id}" is no message of this connection.`);
    const message = forwardedOf(row);
    if (!message) throw new ApiError(400, 'message_not_forwardable', `Message "${id}" is our own ${row.type}; only texts and received messages can be forwarded.`);
    refs.forwarded = { row, message };
  }
  return refs;
}
