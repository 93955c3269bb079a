// How a stored file shows on a message (`media`), kept apart from store.ts so code without the Workers
// runtime's types (the events pipeline's tests) can render messages.
import type { inboundMedia } from '../../drizzle/schema';
import type { Message } from '../../protocol/messages';

export type InboundMediaRow = typeof inboundMedia.$inferSelect;

export const mediaPath = (connectionId: string, messageId: string) =>
  `/api/media/${encodeURIComponent(connectionId)}/${encodeURIComponent(messageId)}`;

/** `media` of a message: its file's description, `url` the API path (or null when only metadata is stored). */
export function toMediaView(row: InboundMediaRow, connectionId: string): NonNullable<Message['media']> {
  return {
    mimetype: row.mimetype,
    size: row.size,
    filename: row.filename,
    sha256: row.sha256,
    url: row.r2Key ? mediaPath(connectionId, row.providerMessageId) : null,
    reason: row.r2Key ? null : (row.reason ?? 'unavailable'),
  };
}

