// The batch's connections, locked, and which events belong to them: a deleted connection's events (or,
// defensively, one claimed under another tenant) are dropped.
import { inArray } from 'drizzle-orm';
import { connections } from '../../../drizzle/schema';
import type { QueuedEvent } from '../../../protocol/runner';
import type { EventsDb } from './store';

export type Owner = Awaited<ReturnType<typeof ownersOf>> extends Map<string, infer O> ? O : never;

/**
 * The batch's connection rows, by id, locked in id order inside persistEvents' transaction, which
 * serializes consumers working on the same connection (see the head of this file).
 */
export async function ownersOf(db: Pick<EventsDb, 'select'>, events: readonly QueuedEvent[]) {
  const pks = [...new Set(events.map((e) => e.connection_pk))].sort();
  const query = db
    .select({
      id: connections.id,
      tenantId: connections.tenantId,
      connectionId: connections.connectionId,
      status: connections.status,
      statusReason: connections.statusReason,
      phoneNumber: connections.phoneNumber,
      statusChangedAt: connections.statusChangedAt,
      linkedAt: connections.linkedAt,
      qrRaw: connections.qrRaw,
      qrExpiresAt: connections.qrExpiresAt,
      startRequestedAt: connections.startRequestedAt,
    })
    .from(connections)
    .where(inArray(connections.id, pks))
    .orderBy(connections.id);
  const rows = await query.for('no key update');
  return new Map(rows.map((c) => [c.id, c]));
}

/** A deleted connection's events (or, defensively, one claimed under another tenant) are dropped. */
export function owned(events: readonly QueuedEvent[], owners: Map<string, Owner>) {
  const accepted: QueuedEvent[] = [];
  let ignored = 0;
  for (const e of events) {
    const owner = owners.get(e.connection_pk);
    if (owner && owner.tenantId === e.tenant_id) accepted.push(e);
    else ignored++;
  }
  const ref = (pk: string) => {
    const c = owners.get(pk)!;
    return { tenantId: c.tenantId, connectionPk: c.id, connectionId: c.connectionId };
  };
  return { accepted, ignored, ref };
}
