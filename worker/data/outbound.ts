// Outbound messages as the send path records them: a row is written before the runner is asked to send,
// so a retried request (same client_message_id) finds it and never sends twice.
import { and, eq, inArray } from 'drizzle-orm';
import { messages, nowMs } from '../../drizzle/schema';
import { sha256Hex } from '../auth/credentials';
import type { Db } from './db';
import type { MessageRow } from './messages';

/** States from which a retry may (re)send: nothing is known to have reached WhatsApp. */
export const RESENDABLE = ['pending', 'unknown', 'failed'] as const;

/**
 * The WhatsApp message id to send under. With a client_message_id it is derived from it, so every retry
 * (even after a lost row) sends the same id and WhatsApp sees a duplicate, not a new message.
 */
export async function providerIdFor(connectionPk: string, clientMessageId: string | undefined): Promise<string> {
  const seed = clientMessageId ? `${connectionPk}:${clientMessageId}` : crypto.randomUUID();
  return `3EB0${(await sha256Hex(seed)).slice(0, 20).toUpperCase()}`;
}

export async function findOutbound(db: Db, connectionPk: string, providerMessageId: string): Promise<MessageRow | undefined> {
  const [row] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.connectionPk, connectionPk), eq(messages.providerMessageId, providerMessageId)))
    .limit(1);
  return row;
}

export async function recordOutbound(
  db: Db,
  row: { connectionPk: string; chatId: string; toJid: string; text: string; clientMessageId?: string; providerMessageId: string },
): Promise<MessageRow> {
  const [inserted] = await db
    .insert(messages)
    .values({
      connectionPk: row.connectionPk,
      chatId: row.chatId,
      direction: 'outbound',
      toJid: row.toJid,
      type: 'text',
      text: row.text,
      clientMessageId: row.clientMessageId ?? null,
      providerMessageId: row.providerMessageId,
      status: 'pending',
    })
    .onConflictDoNothing()
    .returning();
  if (inserted) return inserted;
  const existing = await findOutbound(db, row.connectionPk, row.providerMessageId);
  if (!existing) throw new Error('outbound row vanished between insert and read');
  return existing;
}

export async function markOutbound(db: Db, id: number, status: 'sent' | 'unknown' | 'failed', extra: { sentAt?: Date; error?: string } = {}) {
  await db
    .update(messages)
    .set({ status, error: extra.error ?? null, ...(extra.sentAt ? { sentAt: extra.sentAt } : {}), updatedAt: nowMs })
    // Receipts may already have moved it on (delivered/read): never move a status back.
    .where(and(eq(messages.id, id), inArray(messages.status, [...RESENDABLE])));
}

export const isResendable = (status: string) => (RESENDABLE as readonly string[]).includes(status);
