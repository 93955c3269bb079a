// A connection's webhook: URL and event subscriptions (PATCH …/webhook), the signing secret rotated and
// shown once, and a signed test event whose outcome (status, time, error, what the endpoint said) is shown.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Loader2Icon, RefreshCwIcon, SendIcon } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import { toast } from 'sonner';
import { webhookEventTypes } from '../../../../protocol/webhooks';
import { SecretOnce } from '@/components/copy-button';
import { Button } from '@/components/ui/button';
import { Checkbox } from '@/components/ui/checkbox';
import { ConfirmDialog, Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from '@/components/ui/dialog';
import { Input } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { api, errorMessage } from '@/lib/api';
import { keys } from '@/lib/queries';
import type { Connection, RotatedWebhookSecret, WebhookEventType, WebhookLog } from '@/lib/types';
import { AttemptOutcome } from '../webhook-attempt';

const eventHelp: Record<WebhookEventType, string> = {
  'message.received': 'a message arrived',
  'message.sent': 'a message went out',
  'message.status': 'delivered, read, failed',
  'message.updated': 'edited, reacted to, voted in',
  'message.deleted': 'revoked or deleted',
  'connection.status': 'connected, logged out…',
  'qr.updated': 'a new QR to scan',
  'call.received': 'a contact called',
};

export function WebhookDialog({ connection, onClose }: { connection: Connection | null; onClose: () => void }) {
  return (
    <Dialog open={connection !== null} onOpenChange={(open) => !open && onClose()}>
      <DialogContent className="sm:max-w-xl">{connection && <WebhookBody connection={connection} />}</DialogContent>
    </Dialog>
  );
}

function WebhookBody({ connection }: { connection: Connection }) {
  const queryClient = useQueryClient();
  const id = encodeURIComponent(connection.connection_id);
  const [url, setUrl] = useState(connection.webhook_url ?? '');
  const [events, setEvents] = useState<WebhookEventType[]>(connection.webhook_events);
  const [confirmRotate, setConfirmRotate] = useState(false);

  const save = useMutation({
    mutationFn: () => api<Connection>(`/connections/${id}/webhook`, { method: 'PATCH', body: { webhook_url: url.trim() || null, events } }),
    onSuccess: (c) => {
      queryClient.setQueryData<Connection[]>(keys.connections, (list) => list?.map((x) => (x.connection_id === c.connection_id ? c : x)));
      toast.success(c.webhook_url ? 'Webhook saved.' : 'Webhook removed.');
    },
  });
  const rotate = useMutation({
    mutationFn: () => api<RotatedWebhookSecret>(`/connections/${id}/webhook/rotate-secret`, { method: 'POST' }),
    onError: (e) => toast.error(errorMessage(e)),
  });
  const test = useMutation({
    mutationFn: () => api<WebhookLog>(`/connections/${id}/webhook/test`, { method: 'POST' }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: keys.webhookLogs(connection.connection_id) }),
  });

  const dirty = (url.trim() || null) !== connection.webhook_url || events.join() !== connection.webhook_events.join();
  const toggle = (e: WebhookEventType, on: boolean) => setEvents((list) => (on ? webhookEventTypes.filter((t) => t === e || list.includes(t)) : list.filter((t) => t !== e)));

  function submit(e: FormEvent) {
    e.preventDefault();
    save.mutate();
  }

  return (
    <>
      <DialogHeader>
        <DialogTitle>Webhook of “{connection.connection_id}”</DialogTitle>
        <DialogDescription>Signed POSTs (Standard Webhooks), retried with backoff; every attempt is in the webhook logs.</DialogDescription>
      </DialogHeader>
      <form onSubmit={submit} className="grid gap-4" noValidate>
        <div className="grid gap-2">
          <Label htmlFor="hook-url">URL</Label>
          <Input id="hook-url" type="url" placeholder="https://api.example.com/whatsapp (empty: no webhook)" value={url} onChange={(e) => setUrl(e.target.value)} />
        </div>
        <fieldset className="grid gap-2">
          <legend className="mb-2 text-sm font-medium">Events</legend>
          <div className="grid gap-2 sm:grid-cols-2">
            {webhookEventTypes.map((e) => (
              <label key={e} className="flex items-start gap-2 text-sm">
                <Checkbox checked={events.includes(e)} onCheckedChange={(v) => toggle(e, v === true)} aria-label={e} className="mt-0.5" />
                <span>
                  <code className="text-xs">{e}</code>
                  <span className="text-muted-foreground block text-xs">{eventHelp[e]}</span>
                </span>
              </label>
            ))}
          </div>
          {events.length === 0 && <p className="text-destructive text-xs">Choose at least one event.</p>}
        </fieldset>
        {save.isError && (
          <p role="alert" className="text-destructive text-sm">
            {errorMessage(save.error)}
          </p>
        )}
        <DialogFooter>
          <Button type="submit" disabled={!dirty || events.length === 0 || save.isPending}>
            {save.isPending && <Loader2Icon className="animate-spin" />} Save
          </Button>
        </DialogFooter>
      </form>

      <div className="grid gap-3 border-t pt-4">
        <div className="flex flex-wrap items-center justify-between gap-2">
          <div>
            <p className="text-sm font-medium">Send a test event</p>
            <p className="text-muted-foreground text-xs">Signed like every delivery; not retried.</p>
          </div>
          <Button variant="outline" size="sm" disabled={!connection.webhook_url || dirty || test.isPending} onClick={() => test.mutate()}>
            {test.isPending ? <Loader2Icon className="animate-spin" /> : <SendIcon />} Send test
          </Button>
        </div>
        {!connection.webhook_url && <p className="text-muted-foreground text-xs">Save a URL first.</p>}
        {test.isError && <p role="alert" className="text-destructive text-sm">{errorMessage(test.error)}</p>}
        {test.data && <AttemptOutcome log={test.data} testId="test-result" />}
      </div>

      <div className="grid gap-3 border-t pt-4">
        <div className="flex flex-wrap items-center justify-between gap-2">
          <div>
            <p className="text-sm font-medium">Signing secret</p>
            <p className="text-muted-foreground text-xs">After a rotation both secrets sign deliveries for 24 h.</p>
          </div>
          <Button variant="outline" size="sm" disabled={rotate.isPending} onClick={() => setConfirmRotate(true)}>
            {rotate.isPending ? <Loader2Icon className="animate-spin" /> : <RefreshCwIcon />} Rotate secret
          </Button>
        </div>
        {rotate.data && <SecretOnce value={rotate.data.webhook_secret} testId="rotated-secret" />}
      </div>
      <ConfirmDialog
        open={confirmRotate}
        onOpenChange={setConfirmRotate}
        title="Rotate the signing secret?"
        description="A new secret is made and shown once. The current one keeps signing too for 24 hours, so your receiver can switch over."
        confirmLabel="Rotate"
        destructive={false}
        onConfirm={() => rotate.mutate()}
      />
    </>
  );
}
