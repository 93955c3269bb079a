// The webhook outbox, as SQL: a statement that stores events also writes, in the same statement (so in the
// same transaction), one webhook_deliveries row per (event, subscribed endpoint). Every such statement
// first names its candidate events as a CTE called `deliverable`, then appends `outboxCtes()`, which keeps
// the candidates whose connection has a webhook subscribed to their type, numbers them per connection
// (connections.webhook_sequence, +1 per delivery, so a receiver can spot gaps) and inserts them. Their ids
// come back from the CTE `queued` (id, message_id), for the caller to put on the `webhooks` queue after
// commit; what never gets there is re-enqueued by the sweep (worker/webhooks/sweep.ts).
//
// `deliverable` columns: tenant_id uuid, connection_pk uuid, event_type text, event_key text (unique per
// connection: one delivery per fact, so a replayed batch adds none), message_id bigint (null for lifecycle
// events), data jsonb (what the body needs beyond the message row), ord int (order within the statement).
import { sql, type SQL } from 'drizzle-orm';
import { connections, webhookDeliveries } from '../../drizzle/schema';

/** CTEs `subscribed`, `numbered` and `queued`, to follow a CTE named `deliverable` (leading comma included). */
export function outboxCtes(): SQL {
  return sql`,
    subscribed as (
      select d.*, row_number() over (partition by d.connection_pk order by d.ord) as rn,
             count(*) over (partition by d.connection_pk) as n
      from deliverable d join ${connections} c on c.id = d.connection_pk
      where c.webhook_url is not null and d.event_type = any(c.webhook_events)
    ),
    numbered as (
      update ${connections} c set webhook_sequence = c.webhook_sequence + s.n
      from (select connection_pk, max(n) as n from subscribed group by connection_pk) s
      where c.id = s.connection_pk
      returning c.id, c.webhook_sequence as last
    ),
    queued as (
      insert into ${webhookDeliveries} (id, tenant_id, connection_pk, event_type, event_key, message_id, data, sequence)
      select gen_random_uuid(), s.tenant_id, s.connection_pk, s.event_type, s.event_key, s.message_id, s.data, n.last - s.n + s.rn
      from subscribed s join numbered n on n.id = s.connection_pk
      order by s.connection_pk, s.rn
      on conflict (connection_pk, event_key) do nothing
      returning id, message_id
    )`;
}

/** Delivery ids a statement's rows carry (a `delivery_ids` column of uuid[]), flattened. */
export function deliveryIdsOf(rows: Record<string, unknown>[]): string[] {
  const ids: string[] = [];
  for (const r of rows) {
    const v = r.delivery_ids;
    if (Array.isArray(v)) ids.push(...v.map(String));
    else if (typeof v === 'string' && v.startsWith('{')) ids.push(...v.slice(1, -1).split(',').filter(Boolean)); // text form of uuid[]
  }
  return ids;
}

/** The `delivery_ids` column for a row of `table` keyed by message id: the deliveries made for that message. */
export const deliveryIdsColumn = (messageId: SQL) =>
  sql`coalesce((select array_agg(q.id) from queued q where q.message_id = ${messageId}), '{}'::uuid[]) as delivery_ids`;
