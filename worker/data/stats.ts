// The overview counts of one tenant, in one statement. Each count reads one index range of this tenant's,
// never a table nor every tenant's last day: connections by tenant, messages by (connection, sent_at), and
// failed attempts and dead deliveries by partial indexes on (tenant, time) (drizzle/schema.ts).
import { sql } from 'drizzle-orm';
import { connections, messages, webhookDeliveries, webhookLogs } from '../../drizzle/schema';
import { connectionStatuses } from '../../protocol/connections';
import type { Stats } from '../../protocol/stats';
import type { Db } from './db';

export interface StatsWindow {
  messagesSince: Date;
  webhooksSince: Date;
}

export async function tenantStats(db: Db, tenantId: string, window: StatsWindow): Promise<Stats> {
  const result = await db.execute<{
    by_status: Record<string, number> | null;
    inbound: number;
    outbound: number;
    failed_attempts: number;
    dead_deliveries: number;
  }>(sql`
    with c as (select id, status from ${connections} where tenant_id = ${tenantId}::uuid),
    s as (select status, count(*)::int as n from c group by status),
    m as (
      select count(*) filter (where direction = 'inbound')::int as inbound, count(*) filter (where direction = 'outbound')::int as outbound
      from ${messages} where connection_pk in (select id from c) and sent_at >= ${window.messagesSince.toISOString()}::timestamptz
    ),
    l as (
      select count(*)::int as failed_attempts from ${webhookLogs}
      where tenant_id = ${tenantId}::uuid and state <> 'delivered' and created_at >= ${window.webhooksSince.toISOString()}::timestamptz
    ),
    d as (
      select count(*)::int as dead_deliveries from ${webhookDeliveries}
      where tenant_id = ${tenantId}::uuid and state = 'dead' and updated_at >= ${window.webhooksSince.toISOString()}::timestamptz
    )
    select (select json_object_agg(status, n) from s) as by_status, m.inbound, m.outbound, l.failed_attempts, d.dead_deliveries
    from m, l, d`);
  const row = result.rows[0]!;
  const byStatus = Object.fromEntries(connectionStatuses.map((s) => [s, Number(row.by_status?.[s] ?? 0)])) as Stats['connections']['by_status'];
  return {
    connections: { total: Object.values(byStatus).reduce((a, b) => a + b, 0), by_status: byStatus },
    messages: { since: window.messagesSince.toISOString(), inbound: Number(row.inbound), outbound: Number(row.outbound) },
    webhooks: {
      since: window.webhooksSince.toISOString(),
      failed_attempts: Number(row.failed_attempts),
      dead_deliveries: Number(row.dead_deliveries),
    },
  };
}
