// Commands that act on a message already sent (protocol/runner.ts `edit`, `revoke`; feature 'message-actions'):
// an edit of our own text, a revoke for everyone. Baileys sends each as a protocolMessage naming the
// target's key; its own echo (messages.upsert, fromMe) comes back through message-changes.ts as a
// message.change event, which is how the stored message changes and the events fire: exactly once.
import type { WASocket } from '@whiskeysockets/baileys';
import type { Command, CommandResult } from '../protocol/runner.js';
import { toWAMessageKey } from './message-content.js';

type MessageAction = Extract<Command, { name: 'edit' | 'revoke' }>;

/** The Baileys content of an action. */
export const actionContent = (c: MessageAction) =>
  c.name === 'edit' ? { text: c.text, edit: toWAMessageKey(c.key) } : { delete: toWAMessageKey(c.key) };

export async function runMessageAction(sock: WASocket, c: MessageAction): Promise<CommandResult> {
  const msg = await sock.sendMessage(c.key.remote_jid, actionContent(c));
  const seconds = Number(msg?.messageTimestamp ?? 0);
  return {
    ...(msg?.key.id ? { provider_message_id: msg.key.id } : {}),
    timestamp: new Date(seconds > 0 ? seconds * 1000 : Date.now()).toISOString(),
  };
}
