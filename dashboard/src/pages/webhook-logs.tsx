// Webhook logs: every delivery attempt of a connection, newest first, filtered by state and event, with
// its details; replay one delivery, or every dead one. Refreshed every few seconds while open.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { ChevronDownIcon, ChevronRightIcon, Loader2Icon, RotateCcwIcon, WebhookIcon } from 'lucide-react';
import { Fragment, useEffect, useState } from 'react';
import { toast } from 'sonner';
import { useParams } from 'wouter';
import { webhookDeliveryStates } from '../../../protocol/webhook-logs';
import { webhookEventTypes } from '../../../protocol/webhooks';
import { ConnectionPicker, useChosenConnection } from '@/components/connection-picker';
import { EmptyState, ErrorState, ListSkeleton, PageHeader } from '@/components/states';
import { AttemptOutcome, DeliveryStateBadge } from '@/components/webhook-attempt';
import { Button } from '@/components/ui/button';
import { Card } from '@/components/ui/card';
import { ConfirmDialog } from '@/components/ui/dialog';
import { NativeSelect } from '@/components/ui/input';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { api, errorMessage } from '@/lib/api';
import { dateTime, timeAgo } from '@/lib/format';
import { keys, useWebhookLogs } from '@/lib/queries';
import type { ReplayResult, WebhookLog } from '@/lib/types';

const REFRESH_MS = 5_000;
/** "Replay all dead" reaches back this far (deliveries older than the retention are gone anyway). */
const REPLAY_WINDOW_MS = 30 * 86_400_000;

export function WebhookLogsPage() {
  const params = useParams<{ connectionId?: string }>();
  const { connections, connectionId, choose } = useChosenConnection('/webhooks', params.connectionId);
  const [state, setState] = useState('');
  const [event, setEvent] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const [confirmAll, setConfirmAll] = useState(false);
  const queryClient = useQueryClient();
  const logs = useWebhookLogs(connectionId, { state: state || undefined, event: event || undefined });

  // While the page is open, new attempts show up by themselves (attempts are not realtime events).
  const { refetch } = logs;
  useEffect(() => {
    if (!connectionId) return;
    const t = setInterval(() => void refetch({ cancelRefetch: false }), REFRESH_MS);
    return () => clearInterval(t);
  }, [connectionId, refetch]);

  const afterReplay = (r: ReplayResult) => {
    toast.success(r.replayed === 0 ? 'Nothing to replay.' : `Replaying ${r.replayed} ${r.replayed === 1 ? 'delivery' : 'deliveries'}.`);
    setTimeout(() => void queryClient.invalidateQueries({ queryKey: keys.webhookLogs(connectionId ?? '') }), 1000);
  };
  const replayOne = useMutation({
    mutationFn: (log: WebhookLog) => api<ReplayResult>(`/webhook-logs/${encodeURIComponent(log.id)}/replay`, { method: 'POST' }),
    onSuccess: afterReplay,
    onError: (e) => toast.error(errorMessage(e)),
  });
  const replayDead = useMutation({
    mutationFn: () =>
      api<ReplayResult>(`/connections/${encodeURIComponent(connectionId!)}/webhook/replay`, {
        method: 'POST',
        body: { since: new Date(Date.now() - REPLAY_WINDOW_MS).toISOString(), states: ['dead'] },
      }),
    onSuccess: afterReplay,
    onError: (e) => toast.error(errorMessage(e)),
  });

  const rows = logs.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <>
      <PageHeader
        title="Webhook logs"
        description="Every delivery attempt: what was sent where, and what the endpoint answered."
        actions={
          connectionId && (
            <Button variant="outline" onClick={() => setConfirmAll(true)} disabled={replayDead.isPending}>
              {replayDead.isPending ? <Loader2Icon className="animate-spin" /> : <RotateCcwIcon />} Replay all dead
            </Button>
          )
        }
      />
      {connections.isPending ? (
        <ListSkeleton rows={4} className="h-10" />
      ) : connections.isError ? (
        <ErrorState error={connections.error} onRetry={() => void connections.refetch()} />
      ) : connections.data.length === 0 ? (
        <EmptyState icon={<WebhookIcon />} title="No connections yet">Webhook attempts of your connections are listed here.</EmptyState>
      ) : (
        <>
          <div className="mb-4 flex flex-col gap-2 sm:flex-row">
            <ConnectionPicker connections={connections.data} value={connectionId} onChange={choose} />
            <NativeSelect value={state} onChange={(e) => setState(e.target.value)} aria-label="State">
              <option value="">All states</option>
              {webhookDeliveryStates.map((s) => (
                <option key={s} value={s}>{s}</option>
              ))}
            </NativeSelect>
            <NativeSelect value={event} onChange={(e) => setEvent(e.target.value)} aria-label="Event">
              <option value="">All events</option>
              {[...webhookEventTypes, 'test'].map((e) => (
                <option key={e} value={e}>{e}</option>
              ))}
            </NativeSelect>
          </div>
          {logs.isPending ? (
            <ListSkeleton rows={5} className="h-10" />
          ) : logs.isError ? (
            <ErrorState error={logs.error} onRetry={() => void logs.refetch()} />
          ) : rows.length === 0 ? (
            <EmptyState icon={<WebhookIcon />} title={state || event ? 'No attempt matches' : 'No deliveries yet'}>
              {state || event ? 'Try another filter.' : 'Set a webhook URL on the connection (Connections → Webhook) and events will be delivered and logged here.'}
            </EmptyState>
          ) : (
            <Card className="py-0">
              <Table>
                <TableHeader>
                  <TableRow>
                    <TableHead className="w-8"><span className="sr-only">Details</span></TableHead>
                    <TableHead>When</TableHead>
                    <TableHead>Event</TableHead>
                    <TableHead>State</TableHead>
                    <TableHead>Status</TableHead>
                    <TableHead className="hidden sm:table-cell">Duration</TableHead>
                    <TableHead className="hidden sm:table-cell">Attempt</TableHead>
                    <TableHead className="text-right"><span className="sr-only">Actions</span></TableHead>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {rows.map((log) => (
                    <Fragment key={log.id}>
                      <TableRow data-testid="webhook-log-row" data-event={log.event_type} data-state={log.state}>
                        <TableCell>
                          <Button variant="ghost" size="icon" className="size-7" aria-expanded={open === log.id} aria-label="Details" onClick={() => setOpen(open === log.id ? null : log.id)}>
                            {open === log.id ? <ChevronDownIcon /> : <ChevronRightIcon />}
                          </Button>
                        </TableCell>
                        <TableCell title={dateTime(log.created_at)}>{timeAgo(log.created_at)}</TableCell>
                        <TableCell><code className="text-xs">{log.event_type}</code></TableCell>
                        <TableCell><DeliveryStateBadge state={log.state} /></TableCell>
                        <TableCell>{log.status_code ?? '—'}</TableCell>
                        <TableCell className="hidden sm:table-cell">{log.duration_ms === null ? '—' : `${log.duration_ms} ms`}</TableCell>
                        <TableCell className="hidden sm:table-cell">{log.attempt}</TableCell>
                        <TableCell className="text-right">
                          {log.delivery_id && (
                            <Button variant="outline" size="sm" onClick={() => replayOne.mutate(log)} disabled={replayOne.isPending}>
                              Replay
                            </Button>
                          )}
                        </TableCell>
                      </TableRow>
                      {open === log.id && (
                        <TableRow className="hover:bg-transparent">
                          <TableCell colSpan={8} className="whitespace-normal">
                            <div className="grid gap-2 py-1">
                              <p className="text-muted-foreground text-xs break-all">
                                {dateTime(log.created_at)} · <code>{log.event_id}</code> → {log.url}
                              </p>
                              <AttemptOutcome log={log} />
                            </div>
                          </TableCell>
                        </TableRow>
                      )}
                    </Fragment>
                  ))}
                </TableBody>
              </Table>
              {logs.hasNextPage && (
                <div className="flex justify-center border-t p-3">
                  <Button variant="outline" size="sm" onClick={() => void logs.fetchNextPage()} disabled={logs.isFetchingNextPage}>
                    {logs.isFetchingNextPage && <Loader2Icon className="animate-spin" />} Load older
                  </Button>
                </div>
              )}
            </Card>
          )}
        </>
      )}
      <ConfirmDialog
        open={confirmAll}
        onOpenChange={setConfirmAll}
        title="Replay every dead delivery?"
        description="Each delivery of the last 30 days that ran out of retries is sent again, with the same webhook-id, and starts its retry schedule anew."
        confirmLabel="Replay"
        destructive={false}
        onConfirm={() => replayDead.mutate()}
      />
    </>
  );
}
