// Connections: one card per linked (or to-be-linked) WhatsApp account, with its live status and actions.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  KeyboardIcon,
  LogOutIcon,
  MessagesSquareIcon,
  MoreHorizontalIcon,
  PhoneIcon,
  QrCodeIcon,
  RotateCwIcon,
  SmartphoneIcon,
  Trash2Icon,
  WebhookIcon,
} from 'lucide-react';
import { useState } from 'react';
import { toast } from 'sonner';
import { Link } from 'wouter';
import { CallsDialog } from '@/components/connection/calls-dialog';
import { NewConnectionDialog } from '@/components/connection/new-connection-dialog';
import { PairingDialog } from '@/components/connection/pairing-dialog';
import { QrDialog } from '@/components/connection/qr-dialog';
import { WebhookDialog } from '@/components/connection/webhook-dialog';
import { reasonText, StatusBadge } from '@/components/connection-status';
import { EmptyState, ErrorState, ListSkeleton, PageHeader } from '@/components/states';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardFooter, CardHeader, CardTitle } from '@/components/ui/card';
import { ConfirmDialog } from '@/components/ui/dialog';
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuSeparator, DropdownMenuTrigger } from '@/components/ui/dropdown-menu';
import { api, errorMessage } from '@/lib/api';
import { keys, useConnections } from '@/lib/queries';
import type { Connection } from '@/lib/types';
import { timeAgo } from '@/lib/format';

type Danger = { kind: 'restart' | 'logout' | 'delete'; connection: Connection };

const dangerText: Record<Danger['kind'], { title: string; body: string; label: string }> = {
  restart: { title: 'Restart the session?', body: 'The WhatsApp socket is closed and opened again from the stored session. Messages sent meanwhile wait.', label: 'Restart' },
  logout: { title: 'Log out of WhatsApp?', body: 'The device is unlinked from the phone and its session deleted. Linking again needs a new QR scan.', label: 'Log out' },
  delete: { title: 'Delete this connection?', body: 'It is logged out and deleted with its chats, messages and webhook logs. This cannot be undone.', label: 'Delete' },
};

export function ConnectionsPage() {
  const connections = useConnections();
  const queryClient = useQueryClient();
  const [qrFor, setQrFor] = useState<string | null>(null);
  const [pairFor, setPairFor] = useState<string | null>(null);
  const [hookFor, setHookFor] = useState<string | null>(null);
  const [callsFor, setCallsFor] = useState<string | null>(null);
  const [danger, setDanger] = useState<Danger | null>(null);
  const hookConnection = connections.data?.find((c) => c.connection_id === hookFor) ?? null;
  const callsConnection = connections.data?.find((c) => c.connection_id === callsFor) ?? null;

  const act = useMutation({
    mutationFn: async ({ kind, connection }: Danger) => {
      const id = encodeURIComponent(connection.connection_id);
      if (kind === 'delete') await api(`/connections/${id}`, { method: 'DELETE' });
      else await api(`/connections/${id}/${kind}`, { method: 'POST' });
      return { kind, connection };
    },
    onSuccess: ({ kind, connection }) => {
      if (kind === 'delete') queryClient.setQueryData<Connection[]>(keys.connections, (l) => l?.filter((c) => c.connection_id !== connection.connection_id));
      void queryClient.invalidateQueries({ queryKey: keys.connections });
      void queryClient.invalidateQueries({ queryKey: keys.stats });
      toast.success(kind === 'delete' ? `Deleted “${connection.connection_id}”.` : kind === 'logout' ? `Logged out “${connection.connection_id}”.` : `Restarting “${connection.connection_id}”…`);
    },
    onError: (e) => toast.error(errorMessage(e)),
  });

  return (
    <>
      <PageHeader title="Connections" description="Each connection is one WhatsApp account linked to Switchboard." actions={<NewConnectionDialog onScan={setQrFor} />} />
      {connections.isPending ? (
        <ListSkeleton rows={3} className="h-40" />
      ) : connections.isError ? (
        <ErrorState error={connections.error} onRetry={() => void connections.refetch()} />
      ) : connections.data.length === 0 ? (
        <EmptyState icon={<SmartphoneIcon />} title="No connections yet">
          Create one, then scan its QR with WhatsApp on the phone (Linked devices) to send and receive messages through the API.
        </EmptyState>
      ) : (
        <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
          {connections.data.map((c) => (
            <Card key={c.connection_id} className="min-w-0" data-testid="connection-card" data-connection-id={c.connection_id}>
              <CardHeader className="flex-row items-start justify-between gap-2">
                <div className="min-w-0">
                  <CardTitle className="truncate" title={c.connection_id}>
                    {c.connection_id}
                  </CardTitle>
                  <p className="text-muted-foreground mt-1 text-sm">{c.phone_number ?? 'No phone linked'}</p>
                </div>
                <StatusBadge status={c.status} />
              </CardHeader>
              <CardContent className="text-muted-foreground flex-1 space-y-1 text-xs">
                {reasonText(c.status_reason) && <p>{reasonText(c.status_reason)}</p>}
                <p>Since {timeAgo(c.status_changed_at)}</p>
                <p className="flex min-w-0 items-center gap-1" title={c.webhook_url ?? undefined}>
                  <WebhookIcon className="size-3 shrink-0" /> <span className="min-w-0 truncate">{c.webhook_url ?? 'No webhook'}</span>
                </p>
              </CardContent>
              <CardFooter className="flex-wrap">
                {c.status === 'connected' ? (
                  <Button size="sm" variant="outline" asChild>
                    <Link href={`/messages/${encodeURIComponent(c.connection_id)}`}>
                      <MessagesSquareIcon /> Messages
                    </Link>
                  </Button>
                ) : (
                  <>
                    <Button size="sm" onClick={() => setQrFor(c.connection_id)}>
                      <QrCodeIcon /> Scan QR
                    </Button>
                    <Button size="sm" variant="outline" onClick={() => setPairFor(c.connection_id)}>
                      <KeyboardIcon /> Phone number
                    </Button>
                  </>
                )}
                <Button size="sm" variant="outline" onClick={() => setHookFor(c.connection_id)}>
                  <WebhookIcon /> Webhook
                </Button>
                <DropdownMenu>
                  <DropdownMenuTrigger asChild>
                    <Button size="icon" variant="ghost" className="ml-auto size-8" aria-label={`More actions for ${c.connection_id}`}>
                      <MoreHorizontalIcon />
                    </Button>
                  </DropdownMenuTrigger>
                  <DropdownMenuContent align="end">
                    <DropdownMenuItem onSelect={() => setDanger({ kind: 'restart', connection: c })}>
                      <RotateCwIcon /> Restart
                    </DropdownMenuItem>
                    <DropdownMenuItem onSelect={() => setCallsFor(c.connection_id)}>
                      <PhoneIcon /> Calls
                    </DropdownMenuItem>
                    <DropdownMenuItem asChild>
                      <Link href={`/webhooks/${encodeURIComponent(c.connection_id)}`}>
                        <WebhookIcon /> Webhook logs
                      </Link>
                    </DropdownMenuItem>
                    <DropdownMenuItem disabled={c.status === 'logged_out'} onSelect={() => setDanger({ kind: 'logout', connection: c })}>
                      <LogOutIcon /> Log out
                    </DropdownMenuItem>
                    <DropdownMenuSeparator />
                    <DropdownMenuItem variant="destructive" onSelect={() => setDanger({ kind: 'delete', connection: c })}>
                      <Trash2Icon /> Delete
                    </DropdownMenuItem>
                  </DropdownMenuContent>
                </DropdownMenu>
              </CardFooter>
            </Card>
          ))}
        </div>
      )}
      <QrDialog connectionId={qrFor} onClose={() => setQrFor(null)} />
      <PairingDialog connectionId={pairFor} onClose={() => setPairFor(null)} />
      <WebhookDialog connection={hookConnection} onClose={() => setHookFor(null)} />
      <CallsDialog connection={callsConnection} onClose={() => setCallsFor(null)} />
      <ConfirmDialog
        open={danger !== null}
        onOpenChange={(open) => !open && setDanger(null)}
        title={danger ? dangerText[danger.kind].title : ''}
        description={danger ? dangerText[danger.kind].body : ''}
        confirmLabel={danger ? dangerText[danger.kind].label : ''}
        destructive={danger?.kind !== 'restart'}
        onConfirm={() => danger && act.mutate(danger)}
      />
    </>
  );
}
