// Query keys and fetchers: one place, so live updates (live-cache.ts) and pages agree on what is cached where.
import { useInfiniteQuery, useQuery, type InfiniteData } from '@tanstack/react-query';
import type { Stats } from '../../../protocol/stats';
import { api, apiPage } from './api';
import { mergeFetchedMessages } from './live-cache';
import type { ApiKey, Chat, Connection, Me, Message, WebhookLog } from './types';

export const keys = {
  me: ['me'] as const,
  connections: ['connections'] as const,
  stats: ['stats'] as const,
  sandbox: ['sandbox'] as const,
  apiKeys: ['api-keys'] as const,
  chats: (connectionId: string) => ['chats', connectionId] as const,
  messages: (connectionId: string, chatId: string) => ['messages', connectionId, chatId] as const,
  webhookLogs: (connectionId: string) => ['webhook-logs', connectionId] as const,
  calls: (connectionId: string) => ['calls', connectionId] as const,
};

export interface Page<T> {
  items: T[];
  next: string | null;
}
export type MessagePages = InfiniteData<Page<Message>, string | undefined>;

/** Who is logged in: null when nobody is (asked without a 401, so a fresh visit logs no error). */
export const useMe = () =>
  useQuery({ queryKey: keys.me, queryFn: async () => (await api<{ session: Me | null }>('/auth/session')).session, retry: false });

/** Statuses arrive live; connections made or removed elsewhere (through the API) show when a page opens. */
export const useConnections = () =>
  useQuery({ queryKey: keys.connections, queryFn: () => api<Connection[]>('/connections'), refetchOnMount: 'always', refetchInterval: 15_000 });

/** Midnight where the user is, so "today" is their day. */
const localMidnight = () => {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d.toISOString();
};
export const useStats = () => useQuery({ queryKey: keys.stats, queryFn: () => api<Stats>('/stats', { query: { since: localMidnight() } }) });

export const useApiKeys = () => useQuery({ queryKey: keys.apiKeys, queryFn: () => api<ApiKey[]>('/keys') });

export const useChats = (connectionId: string | undefined) =>
  useQuery({
    queryKey: keys.chats(connectionId ?? ''),
    queryFn: () => api<Chat[]>(`/chats/${encodeURIComponent(connectionId!)}`, { query: { limit: 500 } }),
    enabled: !!connectionId,
  });

const MESSAGES_PAGE = 40;
export const useMessages = (connectionId: string, chatId: string) =>
  useInfiniteQuery({
    queryKey: keys.messages(connectionId, chatId),
    queryFn: ({ pageParam }) =>
      apiPage<Message>(`/messages/${encodeURIComponent(connectionId)}/${encodeURIComponent(chatId)}`, {
        query: { limit: MESSAGES_PAGE, before: pageParam },
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next ?? undefined,
    structuralSharing: (old, fresh) => mergeFetchedMessages(old as MessagePages | undefined, fresh as MessagePages),
  });

export interface WebhookLogFilter {
  state?: string;
  event?: string;
}
export const useWebhookLogs = (connectionId: string | undefined, filter: WebhookLogFilter) =>
  useInfiniteQuery({
    queryKey: [...keys.webhookLogs(connectionId ?? ''), filter],
    queryFn: ({ pageParam }) =>
      apiPage<WebhookLog>(`/webhook-logs/${encodeURIComponent(connectionId!)}`, { query: { limit: 50, before: pageParam, ...filter } }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next ?? undefined,
    enabled: !!connectionId,
  });
