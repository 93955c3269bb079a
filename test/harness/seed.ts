// Arranges stored chats, messages and webhook attempts the way the events pipeline and the webhook
// consumer write them, so that the read endpoints can be tested on their own.
import { eq } from 'drizzle-orm';
import { chats, connections, messages, webhookLogs } from '../../drizzle/schema';
import { database } from './api';

export async function connectionPk(connectionId: string, tenantId: string): Promise<string> {
  const rows = await database().select().from(connections).where(eq(connections.connectionId, connectionId));
  const row = rows.find((r) => r.tenantId === tenantId);
  if (!row) throw new Error(`no connection ${connectionId}`);
  return row.id;
}

export async function seedChat(pk: string, chatId: string, n: number, startAt = Date.UTC(2026, 0, 1)) {
  const db = database();
  const rows = Array.from({ length: n }, (_, i) => ({
    connectionPk: pk,
    chatId,
    direction: (i % 2 ? 'outbound' : 'inbound') as 'inbound' | 'outbound',
    fromJid: i % 2 ? null : chatId,
    toJid: i % 2 ? chatId : null,
    type: 'text',
    text: `message ${i}`,
    providerMessageId: `PMID-${chatId}-${i}`,
    status: (i % 2 ? 'delivered' : 'received') as 'delivered' | 'received',
    sentAt: new Date(startAt + i * 1000),
  }));
  if (rows.length) await db.insert(messages).values(rows);
  await db.insert(chats).values({
    connectionPk: pk,
    chatId,
    name: `Chat ${chatId}`,
    lastMessageAt: new Date(startAt + Math.max(0, n - 1) * 1000),
    lastMessageText: n ? `message ${n - 1}` : null,
    unreadCount: Math.ceil(n / 2),
  });
}

export async function seedWebhookAttempts(pk: string, tenantId: string, n: number) {
  const base = Date.now() - 3600_000;
  await database()
    .insert(webhookLogs)
    .values(
      Array.from({ length: n }, (_, i) => ({
        tenantId,
        connectionPk: pk,
        eventId: `evt-${pk}-${i}`,
        eventType: 'message.received',
        url: 'https://hooks.example.org/in',
        attempt: 1,
        state: (i % 3 === 0 ? 'failed' : 'delivered') as 'failed' | 'delivered',
        statusCode: i % 3 === 0 ? 500 : 200,
        durationMs: 10 + i,
        error: i % 3 === 0 ? 'HTTP 500' : null,
        responseExcerpt: 'ok',
        // Recent: the sweep forgets log rows older than WEBHOOK_RETENTION_DAYS.
        createdAt: new Date(base + i * 1000),
      })),
    );
}
