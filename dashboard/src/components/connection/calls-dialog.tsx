// A connection's calls: the policy the runner applies as a call rings (PUT …/calls: reject, and the text sent
// to the caller after a reject), and the calls received, newest first, updated live as they ring.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Loader2Icon, PhoneIcon, VideoIcon } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import { toast } from 'sonner';
import { EmptyState, ErrorState, ListSkeleton } from '@/components/states';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Checkbox } from '@/components/ui/checkbox';
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from '@/components/ui/dialog';
import { Input } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { api, errorMessage } from '@/lib/api';
import { timeAgo } from '@/lib/format';
import { keys } from '@/lib/queries';
import { useRealtimeEvent } from '@/lib/realtime';
import type { Call, Connection } from '@/lib/types';

/** How many of the latest calls the dialog shows. */
const SHOWN = 20;

export function CallsDialog({ connection, onClose }: { connection: Connection | null; onClose: () => void }) {
  return (
    <Dialog open={connection !== null} onOpenChange={(open) => !open && onClose()}>
      <DialogContent className="sm:max-w-xl">{connection && <CallsBody connection={connection} />}</DialogContent>
    </Dialog>
  );
}

function CallsBody({ connection }: { connection: Connection }) {
  const queryClient = useQueryClient();
  const id = encodeURIComponent(connection.connection_id);
  const [reject, setReject] = useState(connection.calls.reject);
  const [message, setMessage] = useState(connection.calls.message ?? '');
  const callsKey = keys.calls(connection.connection_id);
  const calls = useQuery({ queryKey: callsKey, queryFn: () => api<Call[]>(`/connections/${id}/calls`, { query: { limit: SHOWN } }) });
  useRealtimeEvent((event, data) => {
    if (event === 'call-received' && data.connectionId === connection.connection_id) void queryClient.invalidateQueries({ queryKey: callsKey });
  });

  // The policy as it would be saved: a text only goes with a reject.
  const wanted = { reject, message: reject && message.trim() ? message.trim() : null };
  const dirty = wanted.reject !== connection.calls.reject || wanted.message !== connection.calls.message;
  const save = useMutation({
    mutationFn: () => api<Connection>(`/connections/${id}/calls`, { method: 'PUT', body: wanted }),
    onSuccess: (c) => {
      queryClient.setQueryData<Connection[]>(keys.connections, (list) => list?.map((x) => (x.connection_id === c.connection_id ? c : x)));
      setMessage(c.calls.message ?? '');
      toast.success(c.calls.reject ? 'Calls will be rejected.' : 'Calls will ring.');
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    save.mutate();
  }

  return (
    <>
      <DialogHeader>
        <DialogTitle>Calls of “{connection.connection_id}”</DialogTitle>
        <DialogDescription>Every call is reported as call.received (webhook and live events), whatever the policy.</DialogDescription>
      </DialogHeader>
      <form onSubmit={submit} className="grid gap-4" noValidate>
        <label className="flex items-start gap-2 text-sm">
          <Checkbox checked={reject} onCheckedChange={(v) => setReject(v === true)} aria-label="Reject calls" className="mt-0.5" />
          <span>
            Reject calls as they ring
            <span className="text-muted-foreground block text-xs">The caller sees the call declined. Calls delivered late (the phone was offline) have ended and are left alone.</span>
          </span>
        </label>
        <div className="grid gap-2">
          <Label htmlFor="call-message">Then send the caller</Label>
          <Input
            id="call-message"
            placeholder="This number does not take calls: please write."
            value={message}
            disabled={!reject}
            maxLength={4096}
            onChange={(e) => setMessage(e.target.value)}
          />
        </div>
        {save.isError && (
          <p role="alert" className="text-destructive text-sm">
            {errorMessage(save.error)}
          </p>
        )}
        <DialogFooter>
          <Button type="submit" disabled={!dirty || save.isPending}>
            {save.isPending && <Loader2Icon className="animate-spin" />} Save
          </Button>
        </DialogFooter>
      </form>

      <div className="grid gap-3 border-t pt-4">
        <p className="text-sm font-medium">Latest calls</p>
        {calls.isPending ? (
          <ListSkeleton rows={3} className="h-10" />
        ) : calls.isError ? (
          <ErrorState error={calls.error} onRetry={() => void calls.refetch()} />
        ) : calls.data.length === 0 ? (
          <EmptyState icon={<PhoneIcon />} title="No calls yet">
            Calls to this number show here as they ring.
          </EmptyState>
        ) : (
          <ul className="grid gap-2" data-testid="calls">
            {calls.data.map((c) => (
              <li key={c.id} data-call-id={c.id} className="flex min-w-0 items-center gap-2 text-sm">
                {c.is_video ? <VideoIcon className="size-4 shrink-0" aria-label="Video call" /> : <PhoneIcon className="size-4 shrink-0" aria-label="Voice call" />}
                <span className="min-w-0 truncate font-mono text-xs" title={c.chat_id}>
                  +{c.from}
                </span>
                <span className="text-muted-foreground text-xs" title={c.timestamp}>
                  {timeAgo(c.timestamp)}
                </span>
                <span className="ml-auto flex gap-1">
                  {c.offline && <Badge variant="outline">missed offline</Badge>}
                  <Badge variant={c.rejected ? 'danger' : 'secondary'}>{c.rejected ? 'rejected' : 'rang'}</Badge>
                </span>
              </li>
            ))}
          </ul>
        )}
      </div>
    </>
  );
}
