// Hub Durable Object (one per tenant): fans realtime events out to that tenant's WebSocket clients.
// Built on partyserver with hibernation, so idle dashboards cost nothing. Subscriptions, filtering by
// connection and the Socket.IO-compatible path are built on this (issue: realtime events).
import { Server } from 'partyserver';
import type { Env } from '../env';

export class Hub extends Server<Env> {
  static override options = { hibernate: true };

  /** Sends one event to every client of this tenant; returns how many received it. */
  async publish(event: string, payload: unknown): Promise<number> {
    const frame = JSON.stringify({ event, data: payload });
    let n = 0;
    for (const conn of this.getConnections()) {
      conn.send(frame);
      n++;
    }
    return n;
  }
}
