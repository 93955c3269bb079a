// What each realtime frame changes in the query cache, so pages update without reloading: connection
// badges, the open chat's messages and their ticks, the chat list and the overview counts.
import type { QueryClient } from '@tanstack/react-query';
import { keys, type MessagePages } from './queries';
import type { Connection, Message, RealtimeData, RealtimeEventName } from './types';

/** Counts and lists that many frames touch are refetched at most this often. */
const REFRESH_MS = 1000;
const pending = new Map<string, ReturnType<typeof setTimeout>>();
function refreshSoon(queryClient: QueryClient, queryKey: readonly unknown[]) {
  const id = JSON.stringify(queryKey);
  if (pending.has(id)) return;
  pending.set(
    id,
    setTimeout(() => {
      pending.delete(id);
      void queryClient.invalidateQueries({ queryKey });
    }, REFRESH_MS),
  );
}

/** The same message whether it is the optimistic copy, the send's answer or the stored row. */
export const sameMessage = (a: Message, b: { id?: string; client_message_id?: string | null; provider_message_id?: string | null }) =>
  a.id === b.id ||
  (!!a.client_message_id && a.client_message_id === b.client_message_id && a.direction === 'outbound') ||
  (!!a.provider_message_id && a.provider_message_id === b.provider_message_id);

/** Statuses only move forward (a late "sent" never hides "read"). */
const rank: Record<Message['status'], number> = { pending: 0, unknown: 0, received: 0, sent: 1, delivered: 2, read: 3, played: 4, failed: 5 };
export const laterStatus = (a: Message['status'], b: Message['status']) => (rank[b] >= rank[a] ? b : a);

export function upsertMessage(queryClient: QueryClient, connectionId: string, chatId: string, message: Message) {
  queryClient.setQueryData<MessagePages>(keys.messages(connectionId, chatId), (data) => {
    if (!data) return data;
    let found = false;
    const pages = data.pages.map((p) => ({
      ...p,
      items: p.items.map((m) => {
        if (!sameMessage(m, message)) return m;
        found = true;
        return { ...m, ...message, status: laterStatus(m.status, message.status) };
      }),
    }));
    if (!found && pages[0]) pages[0] = { ...pages[0], items: [message, ...pages[0].items] };
    return { ...data, pages };
  });
}

/**
 * Changes a cached message. One that is not in the cache (its chat still loading, or a page the user never
 * scrolled to) is left to a reload of the chat, so a status never gets lost between a fetch and a frame.
 */
export function patchMessage(
  queryClient: QueryClient,
  connectionId: string,
  chatId: string,
  match: { id?: string; client_message_id?: string | null; provider_message_id?: string | null },
  patch: Partial<Message>,
) {
  const key = keys.messages(connectionId, chatId);
  let found = false;
  queryClient.setQueryData<MessagePages>(key, (data) => {
    if (!data) return data;
    return {
      ...data,
      pages: data.pages.map((p) => ({
        ...p,
        items: p.items.map((m) => {
          if (!sameMessage(m, match)) return m;
          found = true;
          return { ...m, ...patch, status: patch.status ? laterStatus(m.status, patch.status) : m.status };
        }),
      })),
    };
  });
  if (!found && queryClient.getQueryState(key)) refreshSoon(queryClient, key);
}

/**
 * A freshly fetched chat merged with what the cache already knew: a status heard live is never replaced by
 * an older one the fetch read before it, and messages still being sent from this page stay shown.
 */
export function mergeFetchedMessages(old: MessagePages | undefined, fresh: MessagePages): MessagePages {
  if (!old) return fresh;
  const known = old.pages.flatMap((p) => p.items);
  const fetched = fresh.pages.flatMap((p) => p.items);
  const pages = fresh.pages.map((p) => ({
    ...p,
    items: p.items.map((m) => {
      const before = known.find((k) => sameMessage(k, m));
      return before && laterStatus(m.status, before.status) !== m.status ? { ...m, status: before.status, error: before.error } : m;
    }),
  }));
  const unsent = known.filter((k) => k.id.startsWith('local-') && !fetched.some((m) => sameMessage(m, k)));
  if (unsent.length && pages[0]) pages[0] = { ...pages[0], items: [...unsent, ...pages[0].items] };
  return { ...fresh, pages };
}

export function applyRealtimeFrame<E extends RealtimeEventName>(queryClient: QueryClient, event: E, data: RealtimeData[E]) {
  switch (event) {
    case 'connection-status': {
      const d = data as RealtimeData['connection-status'];
      queryClient.setQueryData<Connection[]>(keys.connections, (list) =>
        list?.map((c) =>
          c.connection_id === d.connectionId
            ? { ...c, status: d.status, phone_number: d.phoneNumber ?? c.phone_number, status_reason: d.statusReason, status_changed_at: new Date().toISOString() }
            : c,
        ),
      );
      refreshSoon(queryClient, keys.stats);
      return;
    }
    case 'new-message': {
      const d = data as RealtimeData['new-message'];
      upsertMessage(queryClient, d.connectionId, d.chatId, d.message);
      refreshSoon(queryClient, keys.chats(d.connectionId));
      refreshSoon(queryClient, keys.stats);
      return;
    }
    case 'message-sent': {
      const d = data as RealtimeData['message-sent'];
      patchMessage(queryClient, d.connectionId, d.chatId, { client_message_id: d.clientMessageId, provider_message_id: d.providerMessageId }, {
        provider_message_id: d.providerMessageId,
        status: 'sent',
      });
      refreshSoon(queryClient, keys.chats(d.connectionId));
      refreshSoon(queryClient, keys.stats);
      return;
    }
    case 'message-status': {
      const d = data as RealtimeData['message-status'];
      patchMessage(queryClient, d.connectionId, d.chatId, { client_message_id: d.clientMessageId, provider_message_id: d.providerMessageId }, { status: d.status });
      return;
    }
    case 'message-updated':
    case 'message-deleted': {
      const d = data as RealtimeData['message-updated' | 'message-deleted'];
      upsertMessage(queryClient, d.connectionId, d.chatId, d.message);
      return;
    }
    case 'qr-update':
      return; // The QR dialog listens for these itself.
  }
}
