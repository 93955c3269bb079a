// What a tenant does to a chat besides sending: read receipts, chat states (typing, recording) and the
// account's presence, and which numbers are on WhatsApp. Each a command of protocol/runner.ts that needs the
// `chat-actions` feature; the Baileys calls are here, the one decision worth testing (matching one usync
// answer to the numbers asked) is pure.
import { jidNormalizedUser, type WASocket } from '@whiskeysockets/baileys';
import { chatStates, type Command, type CommandResult } from '../protocol/runner.js';
import { toWAMessageKey } from './message-content.js';
import type { RegisteredNumbers } from './registered-numbers.js';
import { CommandError } from './whatsapp.js';

export type ChatAction = Extract<Command, { name: 'read' | 'presence' | 'check-numbers' }>;
type NumberAnswer = NonNullable<CommandResult['numbers']>[number];
/** Baileys' onWhatsApp: the numbers asked that WhatsApp has, each under the JID it has it under. */
export type NumbersQuery = (...jids: string[]) => Promise<{ jid: string; exists: boolean }[] | undefined>;

export async function runChatAction(sock: WASocket, numbers: RegisteredNumbers | undefined, c: ChatAction): Promise<CommandResult> {
  switch (c.name) {
    case 'read':
      await sock.readMessages(c.keys.map(toWAMessageKey));
      return {};
    case 'presence': {
      const toChat = (chatStates as readonly string[]).includes(c.state);
      if (toChat !== (c.chat_jid !== undefined)) {
        throw new CommandError('bad_command', toChat ? `${c.state} goes to a chat: chat_jid is missing` : `${c.state} is the account's presence: no chat_jid`);
      }
      await sock.sendPresenceUpdate(c.state, c.chat_jid);
      return {};
    }
    case 'check-numbers':
      return { numbers: await checkNumbers(c.jids, (...jids) => sock.onWhatsApp(...jids), numbers) };
  }
}

/**
 * Which of `jids` (phone-number JIDs) are on WhatsApp. What the runner remembers (registered-numbers.ts) is
 * answered from memory; the rest go in one usync query. Its answer lists only the numbers WhatsApp has, by the
 * JID it has them under, which is usually the one asked; a number registered under another form (Brazil's ninth
 * digit) cannot be told from the others in a batch, so when the answer holds JIDs nobody asked for, the
 * numbers left unmatched are asked again one by one (rare, and bounded by the batch).
 */
export async function checkNumbers(jids: string[], query: NumbersQuery, memory?: RegisteredNumbers): Promise<NumberAnswer[]> {
  const answers = new Map<string, string | null>();
  for (const jid of jids) {
    const known = memory?.known(jid);
    if (known !== undefined) answers.set(jid, known);
  }
  const unknown = [...new Set(jids.filter((j) => !answers.has(j)))];
  if (unknown.length) {
    const found = ((await query(...unknown)) ?? []).filter((r) => r.exists).map((r) => jidNormalizedUser(r.jid));
    const unclaimed = new Set(found);
    for (const jid of unknown) {
      if (unclaimed.delete(jid)) answers.set(jid, jid);
    }
    for (const jid of unknown.filter((j) => !answers.has(j))) {
      const alone = unclaimed.size ? ((await query(jid)) ?? []).find((r) => r.exists) : undefined;
      answers.set(jid, alone ? jidNormalizedUser(alone.jid) : null);
    }
    for (const jid of unknown) memory?.learn(jid, answers.get(jid)!);
  }
  return jids.map((jid) => {
    const registered = answers.get(jid) ?? null;
    return { jid, exists: registered !== null, registered_jid: registered };
  });
}
