// Overview: connections by status, today's messages in and out, webhook failures in the last 24 hours.
// Counts refresh as live events arrive (live-cache.ts), and every 30 s in case the stream is quiet.
import { ArrowDownLeftIcon, ArrowUpRightIcon, SmartphoneIcon, WebhookIcon } from 'lucide-react';
import type { ReactNode } from 'react';
import { Link } from 'wouter';
import { StatusBadge } from '@/components/connection-status';
import { ErrorState, PageHeader } from '@/components/states';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { Skeleton } from '@/components/ui/skeleton';
import { useConnections, useStats } from '@/lib/queries';
import type { ConnectionStatus } from '@/lib/types';
import { connectionStatuses } from '../../../protocol/connections';

function Stat({ title, value, icon, hint, testId }: { title: string; value: number | undefined; icon: ReactNode; hint: ReactNode; testId: string }) {
  return (
    <Card>
      <CardHeader className="flex-row items-center justify-between">
        <CardDescription>{title}</CardDescription>
        <span className="text-muted-foreground [&_svg]:size-4">{icon}</span>
      </CardHeader>
      <CardContent>
        {value === undefined ? <Skeleton className="h-8 w-16" /> : <p className="text-3xl font-semibold tabular-nums" data-testid={testId}>{value}</p>}
        <p className="text-muted-foreground mt-1 text-xs">{hint}</p>
      </CardContent>
    </Card>
  );
}

export function OverviewPage() {
  const stats = useStats();
  const connections = useConnections();
  const s = stats.data;
  // The list is live (badges change with each event); the counts follow it between refreshes.
  const byStatus = connectionStatuses.map((status) => ({
    status,
    count: connections.data ? connections.data.filter((c) => c.status === status).length : s?.connections.by_status[status],
  }));

  return (
    <>
      <PageHeader title="Overview" description="Your WhatsApp accounts and traffic at a glance." />
      {stats.isError && (
        <div className="mb-4">
          <ErrorState error={stats.error} onRetry={() => void stats.refetch()} />
        </div>
      )}
      <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
        <Stat
          title="Connected"
          value={connections.data ? byStatus.find((b) => b.status === 'connected')!.count : s?.connections.by_status.connected}
          icon={<SmartphoneIcon />}
          hint={`of ${connections.data?.length ?? s?.connections.total ?? '…'} connections`}
          testId="stat-connected"
        />
        <Stat title="Received today" value={s?.messages.inbound} icon={<ArrowDownLeftIcon />} hint="messages in, since midnight" testId="stat-inbound" />
        <Stat title="Sent today" value={s?.messages.outbound} icon={<ArrowUpRightIcon />} hint="messages out, since midnight" testId="stat-outbound" />
        <Stat
          title="Webhook failures"
          value={s?.webhooks.failed_attempts}
          icon={<WebhookIcon />}
          hint={s ? `attempts in the last 24 h · ${s.webhooks.dead_deliveries} dead` : 'in the last 24 h'}
          testId="stat-webhook-failures"
        />
      </div>
      <Card className="mt-6">
        <CardHeader>
          <CardTitle>Connections by status</CardTitle>
        </CardHeader>
        <CardContent>
          <ul className="flex flex-wrap gap-3">
            {byStatus.map(({ status, count }) => (
              <li key={status} className="flex items-center gap-2 rounded-lg border px-3 py-2" data-testid={`status-count-${status}`}>
                <StatusBadge status={status as ConnectionStatus} />
                <span className="font-semibold tabular-nums">{count ?? '…'}</span>
              </li>
            ))}
          </ul>
          {connections.data?.length === 0 && (
            <p className="text-muted-foreground mt-4 text-sm">
              No connections yet. <Link href="/connections" className="text-primary underline-offset-4 hover:underline">Create one</Link> to link a WhatsApp account.
            </p>
          )}
        </CardContent>
      </Card>
    </>
  );
}
