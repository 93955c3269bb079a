// A linked connection watched as a tenant's integration watches it: its webhook (for the given events)
// pointed at the test's sink, the native realtime stream, and a Socket.IO client, each recording what
// arrives. For the end-to-end files that check one change reaches all three.
import { io, type Socket } from 'socket.io-client';
import { bearer, openStream, type Stream } from '../realtime/streams';
import { baseUrl, type newTenant } from './api';
import type { Sink } from './webhook-sink';
import { linkedConnection } from './whatsapp';

type Tenant = Awaited<ReturnType<typeof newTenant>>;

export type ObservedConnection = {
  link: { id: string; number: string };
  hook: { url: string; path: string };
  stream: Stream;
  socket: Socket;
  /** Every Socket.IO event, in arrival order. */
  socketEvents: { event: string; data: any }[];
  close(): Promise<void>;
};

export async function observedConnection(t: Tenant, sink: Sink, events: string[]): Promise<ObservedConnection> {
  const link = await linkedConnection(t);
  const hook = sink.endpoint();
  const patched = await t.api.patch(`/api/connections/${link.id}/webhook`, { webhook_url: hook.url, events });
  if (patched.status !== 200) throw new Error(`webhook: ${patched.status} ${JSON.stringify(patched.body)}`);
  const stream = await openStream(`/api/realtime?connection_id=${link.id}`, bearer(t.apiKey));
  const socket = io(baseUrl(), { reconnection: false, forceNew: true, auth: { token: t.apiKey } });
  const socketEvents: ObservedConnection['socketEvents'] = [];
  socket.onAny((event, data) => socketEvents.push({ event, data }));
  await new Promise<void>((resolve, reject) => (socket.once('connect', () => resolve()), socket.once('connect_error', reject)));
  return {
    link,
    hook,
    stream,
    socket,
    socketEvents,
    close: async () => {
      socket.close();
      await stream.close();
    },
  };
}
