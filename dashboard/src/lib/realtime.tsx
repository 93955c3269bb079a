// The tenant's live events over GET /api/realtime (same origin, so the session cookie authenticates it).
// One reconnecting socket for the whole app: it resumes with `?since=` the last sequence it saw, so a
// dropped socket misses nothing the Hub still holds; on `resync` every query is reloaded from the API.
// Frames update the TanStack Query cache (live badges, chats, ticks) and reach subscribers (the QR dialog).
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import ReconnectingWebSocket from 'partysocket/ws';
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { applyRealtimeFrame } from './live-cache';
import type { RealtimeData, RealtimeEventName } from './types';

export type RealtimeState = 'connecting' | 'live' | 'offline';
type Listener = <E extends RealtimeEventName>(event: E, data: RealtimeData[E]) => void;

interface RealtimeApi {
  state: RealtimeState;
  subscribe(listener: Listener): () => void;
}

const RealtimeContext = createContext<RealtimeApi>({ state: 'offline', subscribe: () => () => {} });
const PING_MS = 25_000;

export function RealtimeProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [state, setState] = useState<RealtimeState>('connecting');
  const listeners = useRef(new Set<Listener>());
  const api = useRef<RealtimeApi>({ state, subscribe: (l) => (listeners.current.add(l), () => listeners.current.delete(l)) });
  api.current = { ...api.current, state };

  useEffect(() => {
    let since: number | undefined;
    const url = () => {
      const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
      return `${scheme}//${location.host}/api/realtime${since === undefined ? '' : `?since=${since}`}`;
    };
    const socket = new ReconnectingWebSocket(url, [], { minReconnectionDelay: 500, maxReconnectionDelay: 10_000 });
    let opened = false;
    socket.addEventListener('open', () => {
      setState('live');
      // A first connection starts from now; after a gap, anything the socket could not replay is reloaded.
      if (opened && since === undefined) void queryClient.invalidateQueries();
      opened = true;
    });
    socket.addEventListener('close', () => setState('offline'));
    socket.addEventListener('message', (e: MessageEvent) => {
      if (typeof e.data !== 'string' || e.data === 'pong') return;
      let frame: { event: string; data: Record<string, unknown>; sequence: number };
      try {
        frame = JSON.parse(e.data);
      } catch {
        return;
      }
      since = frame.sequence;
      if (frame.event === 'resync') {
        void queryClient.invalidateQueries();
        return;
      }
      dispatch(queryClient, frame.event as RealtimeEventName, frame.data, listeners.current);
    });
    const ping = setInterval(() => socket.readyState === socket.OPEN && socket.send('ping'), PING_MS);
    return () => {
      clearInterval(ping);
      socket.close();
    };
  }, [queryClient]);

  return <RealtimeContext.Provider value={api.current}>{children}</RealtimeContext.Provider>;
}

function dispatch(queryClient: QueryClient, event: RealtimeEventName, data: unknown, listeners: Set<Listener>) {
  applyRealtimeFrame(queryClient, event, data as never);
  for (const l of listeners) l(event, data as never);
}

export function useRealtime() {
  return useContext(RealtimeContext);
}

/** Calls `onEvent` for each live frame while the component is mounted. */
export function useRealtimeEvent(onEvent: Listener) {
  const { subscribe } = useRealtime();
  const latest = useRef(onEvent);
  latest.current = onEvent;
  useEffect(() => subscribe((event, data) => latest.current(event, data)), [subscribe]);
}
