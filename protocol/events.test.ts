// The two renderings of a message change: the webhook body and the realtime frame, from one public event.
import { describe, expect, it } from 'vitest';
import { toRealtimeEvent, toWebhookBody, type PublicEvent } from './events';
import type { Message } from './messages';

const message: Message = {
  id: '7',
  connection_id: 'c1',
  chat_id: '120363000000000001@g.us',
  direction: 'inbound',
  from: '15550001111@s.whatsapp.net',
  to: null,
  type: 'text',
  message: 'new text',
  content: null,
  client_message_id: null,
  provider_message_id: '3EB0AA',
  status: 'received',
  error: null,
  timestamp: '2026-12-03T10:00:00.000Z',
  created_at: '2026-12-03T10:00:00.000Z',
  updated_at: '2026-12-03T10:01:00.000Z',
  edited_at: '2026-12-03T10:01:00.000Z',
  deleted_at: null,
  edits: [{ message: 'old text', replaced_at: '2026-12-03T10:01:00.000Z' }],
  reactions: [],
  poll_votes: null,
  reply_to: null,
  mentions: null,
  media: null,
};
const stamp = { eventId: 'msg_1', sequence: 3 };

describe('message changes as public events', () => {
  it('message.updated: a webhook body with who and what changed, and a message-updated frame', () => {
    const e: PublicEvent = { type: 'message.updated', connectionId: 'c1', change: 'edit', by: '15550001111@s.whatsapp.net', message, at: message.edited_at! };
    expect(toWebhookBody(e, stamp)).toEqual({
      event: 'message.updated',
      event_id: 'msg_1',
      connection_id: 'c1',
      sequence: 3,
      timestamp: message.edited_at,
      provider_message_id: '3EB0AA',
      chat_id: message.chat_id,
      is_group: true,
      by: '15550001111',
      message: 'new text',
      change: 'edit',
      data: message,
    });
    expect(toRealtimeEvent(e)).toEqual({
      event: 'message-updated',
      connectionId: 'c1',
      data: { connectionId: 'c1', chatId: message.chat_id, providerMessageId: '3EB0AA', change: 'edit', by: '15550001111@s.whatsapp.net', message },
    });
  });

  it('message.deleted: its scope, and null for our own account', () => {
    const e: PublicEvent = { type: 'message.deleted', connectionId: 'c1', scope: 'me', by: null, message, at: '2026-12-03T10:02:00.000Z' };
    expect(toWebhookBody(e, stamp)).toMatchObject({ event: 'message.deleted', scope: 'me', by: null, timestamp: '2026-12-03T10:02:00.000Z' });
    expect(toWebhookBody(e, stamp)).not.toHaveProperty('change');
    expect(toRealtimeEvent(e)).toMatchObject({ event: 'message-deleted', data: { scope: 'me', by: null } });
  });
});
