// A delivery's body: the public event it is about, rebuilt from what was stored (the message row, the
// delivery's own data), rendered by the one mapper realtime frames also use (protocol/events.ts).
import { toWebhookBody, type Call, type PublicEvent } from '../../protocol/events';
import type { ClaimedDelivery } from '../data/deliveries';
import { webhookIdOf } from '../data/deliveries';
import { toMessage } from '../data/messages';
import type { Message } from '../../protocol/messages';
import { renderQrDataUrl } from '../lib/qr';
import type { Db } from '../data/db';
import type { Env } from '../env';
import { receivedMediaByKey, signedMediaUrl, toMediaView } from '../media-in/store';

const str = (v: unknown) => (typeof v === 'string' ? v : null);

export async function publicEventOf(d: ClaimedDelivery, media?: Message['media']): Promise<PublicEvent> {
  const data = d.data ?? {};
  const message = d.message ? toMessage(d.message, d.connectionId) : null;
  if (message && media && message.direction === 'inbound') message.media = media;
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
    case 'message.updated':
      if (!message) break;
      return {
        type: 'message.updated',
        connectionId,
        change: data.change as Extract<PublicEvent, { type: 'message.updated' }>['change'],
        by: str(data.by),
        message,
        at: str(data.at) ?? message.updated_at,
      };
    case 'message.deleted':
      if (!message) break;
      return { type: 'message.deleted', connectionId, scope: data.scope === 'me' ? 'me' : 'everyone', by: str(data.by), message, at: str(data.at) ?? message.updated_at };
    case 'connection.status':
      return {
        type: 'connection.status',
        connectionId,
        status: data.status as Extract<PublicEvent, { type: 'connection.status' }>['status'],
        statusReason: str(data.status_reason),
        phoneNumber: str(data.phone_number),
        at: str(data.at) ?? new Date().toISOString(),
      };
    case 'call.received': {
      const call = data.call as Call | undefined;
      if (!call) break;
      return { type: 'call.received', connectionId, call, at: call.timestamp };
    }
    case 'qr.updated': {
      const qrRaw = str(data.qr_raw) ?? '';
      return { type: 'qr.updated', connectionId, qr: await renderQrDataUrl(qrRaw), qrRaw, expiresAt: str(data.expires_at) ?? '', at: str(data.at) ?? '' };
    }
  }
  throw new Error(`delivery ${d.id}: cannot render a ${d.eventType} event without its message`);
}

/** The JSON body of a delivery: the one sent before, or rendered now. */
export async function deliveryBody(d: ClaimedDelivery, media?: Message['media']): Promise<string> {
  if (d.payload) return d.payload;
  return JSON.stringify(toWebhookBody(await publicEventOf(d, media), { eventId: webhookIdOf(d.id), sequence: d.sequence }));
}

/**
 * `media` of the received messages among `claimed`, by delivery id, its `url` a signed link
 * (worker/media-in/links.ts) under CONTROL_PLANE_URL (the Worker's public URL), since a webhook receiver
 * holds no API key. No link (url null) without MEDIA_LINK_KEY or CONTROL_PLANE_URL.
 */
export async function webhookMediaOf(db: Db, env: Env, claimed: ClaimedDelivery[]): Promise<Map<string, Message['media']>> {
  const withMessage = claimed.filter((d) => d.eventType === 'message.received' && d.message && !d.payload);
  const out = new Map<string, Message['media']>();
  if (!withMessage.length) return out;
  const files = await receivedMediaByKey(db, withMessage.map((d) => d.message!));
  for (const d of withMessage) {
    const file = files.get(`${d.message!.connectionPk}\n${d.message!.providerMessageId}`);
    if (!file) continue;
    const view = toMediaView(file, d.connectionId);
    if (view && view.url) {
      view.url = env.CONTROL_PLANE_URL ? await signedMediaUrl(env, env.CONTROL_PLANE_URL, d.tenantId, d.connectionId, file.providerMessageId) : null;
    }
    out.set(d.id, view);
  }
  return out;
}
