// "New connection": the connection id (checked with the API's own schema as you type) and an optional
// webhook URL. The API's answer decides; its error text is shown as is. On success the webhook secret is
// shown once, and the QR can be scanned right away.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Loader2Icon, PlusIcon } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import { CreateConnectionBody } from '../../../../protocol/connections';
import { SecretOnce } from '@/components/copy-button';
import { Button } from '@/components/ui/button';
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from '@/components/ui/dialog';
import { Input } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { api, errorMessage } from '@/lib/api';
import { keys } from '@/lib/queries';
import type { Connection, CreatedConnection } from '@/lib/types';

function fieldError(connectionId: string, webhookUrl: string): { connection_id?: string; webhook_url?: string } {
  const parsed = CreateConnectionBody.safeParse({ connection_id: connectionId, webhook_url: webhookUrl || null });
  if (parsed.success) return webhookUrl && !/^https?:\/\//i.test(webhookUrl) ? { webhook_url: 'Must start with http:// or https://' } : {};
  const out: Record<string, string> = {};
  for (const issue of parsed.error.issues) out[String(issue.path[0])] ??= issue.message;
  return out;
}

export function NewConnectionDialog({ onScan }: { onScan: (connectionId: string) => void }) {
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [connectionId, setConnectionId] = useState('');
  const [webhookUrl, setWebhookUrl] = useState('');
  const [touched, setTouched] = useState(false);
  const [created, setCreated] = useState<CreatedConnection | null>(null);
  const errors = fieldError(connectionId, webhookUrl);
  const create = useMutation({
    mutationFn: () =>
      api<CreatedConnection>('/connections', { method: 'POST', body: { connection_id: connectionId, ...(webhookUrl ? { webhook_url: webhookUrl } : {}) } }),
    onSuccess: (c) => {
      const { webhook_secret: _secret, ...connection } = c;
      queryClient.setQueryData<Connection[]>(keys.connections, (list) => [connection, ...(list ?? [])]);
      void queryClient.invalidateQueries({ queryKey: keys.stats });
      setCreated(c);
    },
  });

  function reset(next: boolean) {
    setOpen(next);
    if (!next) {
      setConnectionId('');
      setWebhookUrl('');
      setTouched(false);
      setCreated(null);
      create.reset();
    }
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    setTouched(true);
    if (Object.keys(errors).length === 0) create.mutate();
  }

  return (
    <Dialog open={open} onOpenChange={reset}>
      <Button onClick={() => setOpen(true)}>
        <PlusIcon /> New connection
      </Button>
      <DialogContent>
        {created ? (
          <>
            <DialogHeader>
              <DialogTitle>Connection “{created.connection_id}” created</DialogTitle>
              <DialogDescription>Its webhooks are signed with this secret (Standard Webhooks).</DialogDescription>
            </DialogHeader>
            <SecretOnce value={created.webhook_secret} testId="webhook-secret" />
            <DialogFooter>
              <Button variant="outline" onClick={() => reset(false)}>
                Done
              </Button>
              <Button
                onClick={() => {
                  reset(false);
                  onScan(created.connection_id);
                }}
              >
                Link a phone now
              </Button>
            </DialogFooter>
          </>
        ) : (
          <form onSubmit={submit} className="grid gap-4" noValidate>
            <DialogHeader>
              <DialogTitle>New connection</DialogTitle>
              <DialogDescription>One connection is one linked WhatsApp account. Choose the id your systems will use for it.</DialogDescription>
            </DialogHeader>
            <div className="grid gap-2">
              <Label htmlFor="connection-id">Connection id</Label>
              <Input
                id="connection-id"
                placeholder="support-line"
                value={connectionId}
                onChange={(e) => setConnectionId(e.target.value)}
                aria-invalid={touched && !!errors.connection_id}
                aria-describedby="connection-id-help"
              />
              <p id="connection-id-help" className={touched && errors.connection_id ? 'text-destructive text-xs' : 'text-muted-foreground text-xs'}>
                {touched && errors.connection_id ? errors.connection_id : 'Letters, digits, “.”, “_” and “-”; unique in your account.'}
              </p>
            </div>
            <div className="grid gap-2">
              <Label htmlFor="webhook-url">Webhook URL (optional)</Label>
              <Input
                id="webhook-url"
                type="url"
                placeholder="https://api.example.com/whatsapp"
                value={webhookUrl}
                onChange={(e) => setWebhookUrl(e.target.value)}
                aria-invalid={touched && !!errors.webhook_url}
              />
              {touched && errors.webhook_url && <p className="text-destructive text-xs">{errors.webhook_url}</p>}
            </div>
            {create.isError && (
              <p role="alert" className="text-destructive text-sm" data-testid="form-error">
                {errorMessage(create.error)}
              </p>
            )}
            <DialogFooter>
              <Button type="button" variant="outline" onClick={() => reset(false)}>
                Cancel
              </Button>
              <Button type="submit" disabled={create.isPending}>
                {create.isPending && <Loader2Icon className="animate-spin" />} Create
              </Button>
            </DialogFooter>
          </form>
        )}
      </DialogContent>
    </Dialog>
  );
}
