// A delivery's body: the public event it is about, rebuilt from what was stored (the message row, the
// delivery's own data), rendered by the one mapper realtime frames also use (protocol/events.ts).
import { toWebhookBody, type PublicEvent } from '../../protocol/events';
import type { ClaimedDelivery } from '../data/deliveries';
import { webhookIdOf } from '../data/deliveries';
import { toMessage } from '../data/messages';
import { renderQrDataUrl } from '../lib/qr';

const str = (v: unknown) => (typeof v === 'string' ? v : null);

export async function publicEventOf(d: ClaimedDelivery): Promise<PublicEvent> {
  const data = d.data ?? {};
  const message = d.message ? toMessage(d.message, d.connectionId) : null;
  const connectionId = d.connectionId;
  switch (d.eventType) {
    case 'message.received':
      if (!message) break;
      return { type: 'message.received', connectionId, message, pushName: str(data.push_name) };
    case 'message.sent':
      if (!message) break;
      return {
        type: 'message.sent',
        connectionId,
        chatId: message.chat_id,
        clientMessageId: message.client_message_id,
        providerMessageId: message.provider_message_id ?? '',
        message,
      };
    case 'message.status':
      if (!message) break;
      return {
        type: 'message.status',
        connectionId,
        chatId: message.chat_id,
        providerMessageId: message.provider_message_id ?? '',
        clientMessageId: message.client_message_id,
        status: data.status as Extract<PublicEvent, { type: 'message.status' }>['status'],
        at: str(data.at) ?? message.updated_at,
      };
    case 'connection.status':
      return {
        type: 'connection.status',
        connectionId,
        status: data.status as Extract<PublicEvent, { type: 'connection.status' }>['status'],
        statusReason: str(data.status_reason),
        phoneNumber: str(data.phone_number),
        at: str(data.at) ?? new Date().toISOString(),
      };
    case 'qr.updated': {
      const qrRaw = str(data.qr_raw) ?? '';
      return { type: 'qr.updated', connectionId, qr: await renderQrDataUrl(qrRaw), qrRaw, expiresAt: str(data.expires_at) ?? '', at: str(data.at) ?? '' };
    }
  }
  throw new Error(`delivery ${d.id}: cannot render a ${d.eventType} event without its message`);
}

/** The JSON body of a delivery: the one sent before, or rendered now. */
export async function deliveryBody(d: ClaimedDelivery): Promise<string> {
  if (d.payload) return d.payload;
  return JSON.stringify(toWebhookBody(await publicEventOf(d), { eventId: webhookIdOf(d.id), sequence: d.sequence }));
}
