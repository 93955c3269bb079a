// The public events a stored batch makes (protocol/events.ts): what realtime clients are told once the
// batch is committed. Webhook deliveries of the same facts are rows written inside the batch's own
// transaction (deliveries.ts); both come from the same outcome and render through the same mapper.
import type { PublicEvent } from '../../../protocol/events';
import type { Message } from '../../../protocol/messages';
import { renderQrDataUrl } from '../../lib/qr';
import { toMessage } from '../messages';
import { toMediaView, type InboundMediaRow } from '../../media-in/view';
import type { PersistOutcome } from './outcome';
import { REACHED, TOLD } from './receipts';


export interface TenantEvents {
  tenantId: string;
  events: PublicEvent[];
}

/** The batch's public events, per tenant, in the order they happened within the batch. */
export async function publicEventsOf(
  outcome: PersistOutcome,
  at = new Date(),
  /** `media` of received messages (worker/media-in/store.ts), keyed `connection_pk\nprovider_message_id`. */
  media?: ReadonlyMap<string, InboundMediaRow>,
): Promise<TenantEvents[]> {
  const byTenant = new Map<string, PublicEvent[]>();
  const add = (tenantId: string, e: PublicEvent) => {
    const list = byTenant.get(tenantId) ?? [];
    list.push(e);
    byTenant.set(tenantId, list);
  };
  for (const c of outcome.connections) {
    if (c.statusChanged) {
      add(c.tenantId, {
        type: 'connection.status',
        connectionId: c.connectionId,
        status: c.status,
        statusReason: c.statusReason,
        phoneNumber: c.phoneNumber,
        at: c.statusChangedAt.toISOString(),
      });
    }
    if (c.qrChanged && c.qr) {
      add(c.tenantId, {
        type: 'qr.updated',
        connectionId: c.connectionId,
        qr: await renderQrDataUrl(c.qr.raw),
        qrRaw: c.qr.raw,
        expiresAt: c.qr.expiresAt.toISOString(),
        at: at.toISOString(),
      });
    }
  }
  for (const m of outcome.messages) {
    if (m.source !== 'live') continue;
    const message = toMessage(m.row, m.connectionId);
    const file = media?.get(`${m.row.connectionPk}\n${m.row.providerMessageId}`);
    if (file && m.row.direction === 'inbound') message.media = toMediaView(file, m.connectionId);
    if (m.row.direction === 'inbound') add(m.tenantId, { type: 'message.received', connectionId: m.connectionId, message, pushName: m.pushName });
    else add(m.tenantId, { type: 'message.sent', connectionId: m.connectionId, ...messageIds(message), message });
  }
  for (const c of outcome.changes) {
    const message = toMessage(c.row, c.connectionId);
    const { effect } = c;
    if (effect.event === 'message.deleted') add(c.tenantId, { type: 'message.deleted', connectionId: c.connectionId, scope: effect.scope, by: effect.by, message, at: effect.at });
    else add(c.tenantId, { type: 'message.updated', connectionId: c.connectionId, change: effect.change, by: effect.by, message, at: effect.at });
  }
  for (const c of outcome.calls) add(c.tenantId, { type: 'call.received', connectionId: c.connectionId, call: c.call, at: c.call.timestamp });
  for (const s of outcome.statuses) {
    if (s.direction !== 'outbound' || !TOLD.includes(s.status)) continue;
    // The first sign that the message reached WhatsApp (a send through the API usually tells this itself).
    if (REACHED.includes(s.status) && !REACHED.includes(s.previousStatus)) {
      add(s.tenantId, {
        type: 'message.sent',
        connectionId: s.connectionId,
        chatId: s.chatId,
        clientMessageId: s.clientMessageId,
        providerMessageId: s.providerMessageId,
        message: null,
      });
    }
    add(s.tenantId, {
      type: 'message.status',
      connectionId: s.connectionId,
      chatId: s.chatId,
      providerMessageId: s.providerMessageId,
      clientMessageId: s.clientMessageId,
      status: s.status,
      at: at.toISOString(),
    });
  }
  return [...byTenant].map(([tenantId, events]) => ({ tenantId, events }));
}

const messageIds = (m: Message) => ({ chatId: m.chat_id, clientMessageId: m.client_message_id, providerMessageId: m.provider_message_id ?? '' });
