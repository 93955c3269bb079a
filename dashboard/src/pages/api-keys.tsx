// API keys: create one with its scopes and an optional expiry (the key is shown once, with a copy button),
// see each key's prefix, scopes, expiry and last use, revoke.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { KeyRoundIcon, Loader2Icon, PlusIcon } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import { toast } from 'sonner';
import { SecretOnce } from '@/components/copy-button';
import { EmptyState, ErrorState, ListSkeleton, PageHeader } from '@/components/states';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card } from '@/components/ui/card';
import { Checkbox } from '@/components/ui/checkbox';
import { ConfirmDialog, Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from '@/components/ui/dialog';
import { Input, NativeSelect } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from '@/components/ui/table';
import { api, errorMessage } from '@/lib/api';
import { timeAgo } from '@/lib/format';
import { keys, useApiKeys } from '@/lib/queries';
import type { ApiKey, ApiKeyScope, CreatedApiKey } from '@/lib/types';
import { apiKeyScopes } from '../../../protocol/auth';

const scopeHelp: Record<ApiKeyScope, string> = {
  read: 'Connections, chats, messages, webhook logs, live events',
  send: 'Send messages',
  manage: 'Create and change connections, webhooks and API keys',
};

/** Expiry choices, in days (0: never). */
const EXPIRY_DAYS = [0, 7, 30, 90, 365] as const;
const expiryLabel = (days: number) => (days === 0 ? 'Never' : days === 365 ? 'In 1 year' : `In ${days} days`);

const isExpired = (k: ApiKey) => k.expires_at !== null && Date.parse(k.expires_at) <= Date.now();

function CreateKeyDialog() {
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<ApiKeyScope[]>([...apiKeyScopes]);
  const [expiryDays, setExpiryDays] = useState(0);
  const create = useMutation({
    mutationFn: () =>
      api<CreatedApiKey>('/keys', {
        method: 'POST',
        body: {
          name,
          scopes,
          ...(expiryDays ? { expires_at: new Date(Date.now() + expiryDays * 86_400_000).toISOString() } : {}),
        },
      }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: keys.apiKeys }),
  });
  const toggle = (scope: ApiKeyScope, on: boolean) =>
    setScopes((list) => apiKeyScopes.filter((s) => (s === scope ? on : list.includes(s))));
  function change(next: boolean) {
    setOpen(next);
    if (!next) {
      setName('');
      setScopes([...apiKeyScopes]);
      setExpiryDays(0);
      create.reset();
    }
  }
  function submit(e: FormEvent) {
    e.preventDefault();
    if (name.trim() && scopes.length) create.mutate();
  }
  return (
    <Dialog open={open} onOpenChange={change}>
      <Button onClick={() => setOpen(true)}>
        <PlusIcon /> New API key
      </Button>
      <DialogContent>
        {create.data ? (
          <>
            <DialogHeader>
              <DialogTitle>Key “{create.data.name}” created</DialogTitle>
              <DialogDescription>Send it as <code>Authorization: Bearer …</code>. Anyone holding it acts as your account, within its scopes ({create.data.scopes.join(", ")}).</DialogDescription>
            </DialogHeader>
            <SecretOnce value={create.data.key} testId="new-api-key" />
            <DialogFooter>
              <Button onClick={() => change(false)}>Done</Button>
            </DialogFooter>
          </>
        ) : (
          <form onSubmit={submit} className="grid gap-4">
            <DialogHeader>
              <DialogTitle>New API key</DialogTitle>
              <DialogDescription>Name it after what will use it, so you know what breaks when you revoke it.</DialogDescription>
            </DialogHeader>
            <div className="grid gap-2">
              <Label htmlFor="key-name">Name</Label>
              <Input id="key-name" placeholder="production backend" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} />
            </div>
            <fieldset className="grid gap-2">
              <legend className="mb-2 text-sm font-medium">Scopes</legend>
              {apiKeyScopes.map((s) => (
                <label key={s} className="flex items-start gap-2 text-sm">
                  <Checkbox checked={scopes.includes(s)} onCheckedChange={(v) => toggle(s, v === true)} aria-label={s} className="mt-0.5" />
                  <span>
                    <code className="text-xs">{s}</code>
                    <span className="text-muted-foreground block text-xs">{scopeHelp[s]}</span>
                  </span>
                </label>
              ))}
              {scopes.length === 0 && <p className="text-destructive text-xs">Choose at least one scope.</p>}
            </fieldset>
            <div className="grid gap-2">
              <Label htmlFor="key-expiry">Expires</Label>
              <NativeSelect id="key-expiry" value={expiryDays} onChange={(e) => setExpiryDays(Number(e.target.value))}>
                {EXPIRY_DAYS.map((d) => (
                  <option key={d} value={d}>
                    {expiryLabel(d)}
                  </option>
                ))}
              </NativeSelect>
            </div>
            {create.isError && <p role="alert" className="text-destructive text-sm">{errorMessage(create.error)}</p>}
            <DialogFooter>
              <Button type="submit" disabled={!name.trim() || scopes.length === 0 || create.isPending}>
                {create.isPending && <Loader2Icon className="animate-spin" />} Create key
              </Button>
            </DialogFooter>
          </form>
        )}
      </DialogContent>
    </Dialog>
  );
}

export function ApiKeysPage() {
  const apiKeys = useApiKeys();
  const queryClient = useQueryClient();
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const revoke = useMutation({
    mutationFn: (k: ApiKey) => api(`/keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' }),
    onSuccess: (_, k) => {
      toast.success(`Revoked “${k.name}”.`);
      void queryClient.invalidateQueries({ queryKey: keys.apiKeys });
    },
    onError: (e) => toast.error(errorMessage(e)),
  });

  return (
    <>
      <PageHeader title="API keys" description="Keys let your servers call the API as this account." actions={<CreateKeyDialog />} />
      {apiKeys.isPending ? (
        <ListSkeleton rows={3} className="h-12" />
      ) : apiKeys.isError ? (
        <ErrorState error={apiKeys.error} onRetry={() => void apiKeys.refetch()} />
      ) : apiKeys.data.length === 0 ? (
        <EmptyState icon={<KeyRoundIcon />} title="No API keys">Create one to call the API from your own servers.</EmptyState>
      ) : (
        <Card className="py-0">
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>Name</TableHead>
                <TableHead>Key</TableHead>
                <TableHead>Scopes</TableHead>
                <TableHead>Expires</TableHead>
                <TableHead>Created</TableHead>
                <TableHead>Last used</TableHead>
                <TableHead className="text-right">
                  <span className="sr-only">Actions</span>
                </TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {apiKeys.data.map((k) => (
                <TableRow key={k.id} data-testid="api-key-row" data-key-name={k.name}>
                  <TableCell className="font-medium">{k.name}</TableCell>
                  <TableCell>
                    <code className="text-xs">{k.prefix}…</code>
                  </TableCell>
                  <TableCell>
                    <div className="flex flex-wrap gap-1" data-testid="key-scopes">
                      {k.scopes.map((s) => (
                        <Badge key={s} variant="outline">
                          {s}
                        </Badge>
                      ))}
                    </div>
                  </TableCell>
                  <TableCell className="text-muted-foreground">
                    {isExpired(k) ? (
                      <Badge variant="warning" data-testid="key-expired">
                        Expired {timeAgo(k.expires_at)}
                      </Badge>
                    ) : k.expires_at ? (
                      <span title={k.expires_at}>{timeAgo(k.expires_at)}</span>
                    ) : (
                      'never'
                    )}
                  </TableCell>
                  <TableCell className="text-muted-foreground">{timeAgo(k.created_at)}</TableCell>
                  <TableCell className="text-muted-foreground">{k.last_used_at ? timeAgo(k.last_used_at) : 'never'}</TableCell>
                  <TableCell className="text-right">
                    {k.revoked_at ? (
                      <Badge variant="secondary" data-testid="key-revoked">Revoked {timeAgo(k.revoked_at)}</Badge>
                    ) : (
                      <Button variant="outline" size="sm" onClick={() => setRevoking(k)}>
                        Revoke
                      </Button>
                    )}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Card>
      )}
      <ConfirmDialog
        open={revoking !== null}
        onOpenChange={(open) => !open && setRevoking(null)}
        title={`Revoke “${revoking?.name ?? ''}”?`}
        description="Requests with this key are refused from now on. This cannot be undone."
        confirmLabel="Revoke"
        onConfirm={() => revoking && revoke.mutate(revoking)}
      />
    </>
  );
}
