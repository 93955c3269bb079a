// A tenant's Hub (one Durable Object per tenant), as the Worker reaches it: realtime fan-out after a
// batch is stored. Best effort by design: a frame is never worth failing or retrying a stored batch for,
// and a client that missed frames catches up with `?since=` (or resyncs from the REST API).
import { toRealtimeEvent, type PublicEvent } from '../../protocol/events';
import type { Env } from '../env';

export function hubOf(env: Pick<Env, 'HUB'>, tenantId: string) {
  return env.HUB.get(env.HUB.idFromName(tenantId));
}

/** Sends each tenant its events; a Hub that cannot be reached is logged, not retried. */
export async function publishRealtime(env: Pick<Env, 'HUB'>, perTenant: { tenantId: string; events: PublicEvent[] }[]): Promise<void> {
  await Promise.all(
    perTenant.map(async ({ tenantId, events }) => {
      if (events.length === 0) return;
      try {
        await hubOf(env, tenantId).publish(events.map(toRealtimeEvent));
      } catch (e) {
        console.warn(JSON.stringify({ level: 'warn', msg: 'realtime publish failed', tenant_id: tenantId, events: events.length, error: e instanceof Error ? e.message : String(e) }));
      }
    }),
  );
}

/**
 * A credential ended (key revoked, session logged out): the realtime streams it opened end too, at once.
 * Awaited by the route, so the answer means they are closed; a Hub that cannot be reached is logged, and
 * its streams then end at the latest when their key would have been refused anyway (expiry) or reconnect.
 */
export async function endStreamsOf(env: Pick<Env, 'HUB'>, tenantId: string, credential: string, reason: string): Promise<void> {
  try {
    await hubOf(env, tenantId).endCredential(credential, reason);
  } catch (e) {
    console.warn(JSON.stringify({ level: 'warn', msg: 'realtime streams could not be ended', tenant_id: tenantId, error: e instanceof Error ? e.message : String(e) }));
  }
}
