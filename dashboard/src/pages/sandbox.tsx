// Sandbox (the stack runs with SANDBOX=1): act as the emulated phone and its contacts, so the whole product
// can be tried without a phone. The phone scans a connection's QR (or types a pairing code); a contact
// writes to the phone's number and shows what it received from the gateway.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { FlaskConicalIcon, Loader2Icon, QrCodeIcon, SendIcon, UserPlusIcon } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import { toast } from 'sonner';
import { useSandbox } from '@/components/layout';
import { EmptyState, ErrorState, ListSkeleton, PageHeader } from '@/components/states';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { Input, NativeSelect } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { api, errorMessage } from '@/lib/api';
import { clock } from '@/lib/format';
import { keys, useConnections } from '@/lib/queries';
import type { QrResponse } from '@/lib/types';
import type { z } from 'zod';
import type { SandboxContact as SandboxContactSchema, SandboxInboxEntry, SandboxPhone as SandboxPhoneSchema, SandboxStatus } from '../../../protocol/sandbox';

type SandboxPhone = z.infer<typeof SandboxPhoneSchema>;
type SandboxContact = z.infer<typeof SandboxContactSchema>;
type SandboxState = z.infer<typeof SandboxStatus>;
type InboxEntry = z.infer<typeof SandboxInboxEntry>;

const DIGITS = /^[1-9]\d{5,14}$/;

function Person({ onCreate, label, busy }: { onCreate: (body: { phone?: string; name?: string }) => void; label: string; busy: boolean }) {
  const [name, setName] = useState('');
  const [phone, setPhone] = useState('');
  const digits = phone.replace(/[\s()+.-]/g, '');
  function submit(e: FormEvent) {
    e.preventDefault();
    onCreate({ ...(digits ? { phone: digits } : {}), ...(name.trim() ? { name: name.trim() } : {}) });
    setName('');
    setPhone('');
  }
  return (
    <form onSubmit={submit} className="grid gap-2 sm:grid-cols-[1fr_1fr_auto] sm:items-end">
      <div className="grid gap-1.5">
        <Label htmlFor={`${label}-name`}>Name</Label>
        <Input id={`${label}-name`} value={name} onChange={(e) => setName(e.target.value)} placeholder={label === 'phone' ? 'My phone' : 'Alice'} />
      </div>
      <div className="grid gap-1.5">
        <Label htmlFor={`${label}-number`}>Number (optional)</Label>
        <Input id={`${label}-number`} inputMode="tel" value={phone} onChange={(e) => setPhone(e.target.value)} placeholder="generated if empty" aria-invalid={!!digits && !DIGITS.test(digits)} />
      </div>
      <Button type="submit" disabled={busy || (!!digits && !DIGITS.test(digits))}>
        {busy ? <Loader2Icon className="animate-spin" /> : <UserPlusIcon />} Add {label}
      </Button>
    </form>
  );
}

export function SandboxPage() {
  const sandbox = useSandbox();
  const queryClient = useQueryClient();
  const state = useQuery({ queryKey: [...keys.sandbox, 'state'], queryFn: () => api<SandboxState>('/sandbox'), refetchInterval: 5_000 });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: keys.sandbox });
  const createPhone = useMutation({
    mutationFn: (body: object) => api('/sandbox/phones', { method: 'POST', body }),
    onSuccess: () => (toast.success('Phone added.'), refresh()),
    onError: (e) => toast.error(errorMessage(e)),
  });
  const createContact = useMutation({
    mutationFn: (body: object) => api('/sandbox/contacts', { method: 'POST', body }),
    onSuccess: () => (toast.success('Contact added.'), refresh()),
    onError: (e) => toast.error(errorMessage(e)),
  });

  if (sandbox.isPending || state.isPending) return <ListSkeleton rows={3} className="h-32" />;
  if (state.isError) return <ErrorState error={state.error} onRetry={() => void state.refetch()} />;
  if (!state.data.enabled) {
    return (
      <>
        <PageHeader title="Sandbox" />
        <EmptyState icon={<FlaskConicalIcon />} title="The sandbox is off">
          Start the stack with <code>SANDBOX=1 npm run dev</code> to try Switchboard against an emulated WhatsApp, without a phone.
        </EmptyState>
      </>
    );
  }
  const { phones, contacts } = state.data;
  return (
    <>
      <PageHeader title="Sandbox" description="An emulated WhatsApp: be the phone that links a connection, and the contacts who write to it." />
      <div className="grid gap-6 lg:grid-cols-2">
        <Card>
          <CardHeader>
            <CardTitle>Phones</CardTitle>
            <CardDescription>A phone is a WhatsApp account. Link it to a connection by scanning that connection's QR.</CardDescription>
          </CardHeader>
          <CardContent className="grid gap-4">
            <Person label="phone" busy={createPhone.isPending} onCreate={(b) => createPhone.mutate(b)} />
            {phones.length === 0 ? (
              <p className="text-muted-foreground text-sm">No phone yet: add one.</p>
            ) : (
              <ul className="grid gap-3">
                {phones.map((p) => (
                  <PhoneRow key={p.phone} phone={p} onChange={refresh} />
                ))}
              </ul>
            )}
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardTitle>Contacts</CardTitle>
            <CardDescription>People who write to your phones' numbers, and read what the gateway sends them.</CardDescription>
          </CardHeader>
          <CardContent className="grid gap-4">
            <Person label="contact" busy={createContact.isPending} onCreate={(b) => createContact.mutate(b)} />
            {contacts.length === 0 ? (
              <p className="text-muted-foreground text-sm">No contact yet: add one.</p>
            ) : (
              <ul className="grid gap-4">
                {contacts.map((c) => (
                  <ContactRow key={c.phone} contact={c} phones={phones} />
                ))}
              </ul>
            )}
          </CardContent>
        </Card>
      </div>
    </>
  );
}

function PhoneRow({ phone, onChange }: { phone: SandboxPhone; onChange: () => void }) {
  const connections = useConnections();
  const linkable = (connections.data ?? []).filter((c) => c.status !== 'connected');
  const [target, setTarget] = useState('');
  const [code, setCode] = useState('');
  const chosen = target || linkable[0]?.connection_id || '';
  const scan = useMutation({
    mutationFn: async () => {
      const qr = await api<QrResponse>(`/get-qr/${encodeURIComponent(chosen)}`);
      if (!qr.qr_raw) throw new Error(qr.status === 'connected' ? `“${chosen}” is already connected.` : 'No QR is waiting yet; try again in a moment.');
      return api(`/sandbox/phones/${encodeURIComponent(phone.phone)}/scan`, { method: 'POST', body: { qr: qr.qr_raw } });
    },
    onSuccess: () => (toast.success(`${phone.name ?? phone.phone} scanned the QR of “${chosen}”.`), onChange()),
    onError: (e) => toast.error(errorMessage(e)),
  });
  const pair = useMutation({
    mutationFn: () => api(`/sandbox/phones/${encodeURIComponent(phone.phone)}/pairing-code`, { method: 'POST', body: { code: code.replace(/[\s-]/g, '').toUpperCase() } }),
    onSuccess: () => (toast.success('Code entered on the phone.'), setCode(''), onChange()),
    onError: (e) => toast.error(errorMessage(e)),
  });
  return (
    <li className="grid gap-3 rounded-lg border p-3" data-testid="sandbox-phone" data-phone={phone.phone}>
      <div className="flex items-baseline justify-between gap-2">
        <p className="font-medium">{phone.name ?? 'Phone'} <span className="text-muted-foreground text-sm">+{phone.phone}</span></p>
        <span className="text-muted-foreground text-xs">{phone.devices.count} linked {phone.devices.count === 1 ? 'device' : 'devices'} · {phone.devices.online} online</span>
      </div>
      {linkable.length > 0 ? (
        <div className="flex flex-col gap-2 sm:flex-row">
          <NativeSelect value={chosen} onChange={(e) => setTarget(e.target.value)} aria-label="Connection to link" className="sm:flex-1">
            {linkable.map((c) => (
              <option key={c.connection_id} value={c.connection_id}>{c.connection_id}</option>
            ))}
          </NativeSelect>
          <Button size="sm" onClick={() => scan.mutate()} disabled={!chosen || scan.isPending}>
            {scan.isPending ? <Loader2Icon className="animate-spin" /> : <QrCodeIcon />} Scan its QR
          </Button>
        </div>
      ) : (
        <p className="text-muted-foreground text-xs">Every connection is linked; create another on the Connections page to link this phone.</p>
      )}
      <form className="flex gap-2" onSubmit={(e) => (e.preventDefault(), code.trim() && pair.mutate())}>
        <Input value={code} onChange={(e) => setCode(e.target.value)} placeholder="Pairing code, e.g. ABCD-1234" aria-label="Pairing code" className="h-8" />
        <Button size="sm" variant="outline" type="submit" disabled={!code.trim() || pair.isPending}>
          Enter code
        </Button>
      </form>
    </li>
  );
}

function ContactRow({ contact, phones }: { contact: SandboxContact; phones: SandboxPhone[] }) {
  const [to, setTo] = useState('');
  const [text, setText] = useState('');
  const target = to || phones[0]?.phone || '';
  const inbox = useQuery({
    queryKey: [...keys.sandbox, 'inbox', contact.phone],
    queryFn: () => api<InboxEntry[]>(`/sandbox/contacts/${encodeURIComponent(contact.phone)}/inbox`),
    refetchInterval: 3_000,
  });
  const send = useMutation({
    mutationFn: () => api(`/sandbox/contacts/${encodeURIComponent(contact.phone)}/messages`, { method: 'POST', body: { to: target, text } }),
    onSuccess: () => setText(''),
    onError: (e) => toast.error(errorMessage(e)),
  });
  const received = [...(inbox.data ?? [])].sort((a, b) => b.t - a.t).slice(0, 5);
  return (
    <li className="grid gap-3 rounded-lg border p-3" data-testid="sandbox-contact" data-phone={contact.phone}>
      <p className="font-medium">{contact.name ?? 'Contact'} <span className="text-muted-foreground text-sm">+{contact.phone}</span></p>
      {phones.length === 0 ? (
        <p className="text-muted-foreground text-xs">Add a phone to write to.</p>
      ) : (
        <form className="flex flex-col gap-2 sm:flex-row" onSubmit={(e) => (e.preventDefault(), text.trim() && send.mutate())}>
          <NativeSelect value={target} onChange={(e) => setTo(e.target.value)} aria-label="Write to" className="h-8">
            {phones.map((p) => (
              <option key={p.phone} value={p.phone}>to +{p.phone}</option>
            ))}
          </NativeSelect>
          <Input value={text} onChange={(e) => setText(e.target.value)} placeholder={`Message from ${contact.name ?? 'the contact'}`} aria-label="Message from the contact" className="h-8 sm:flex-1" />
          <Button size="sm" type="submit" disabled={!text.trim() || send.isPending}>
            <SendIcon /> Send
          </Button>
        </form>
      )}
      <div>
        <p className="text-muted-foreground mb-1 text-xs font-medium">Received from the gateway</p>
        {inbox.isError ? (
          <p className="text-destructive text-xs">{errorMessage(inbox.error)}</p>
        ) : received.length === 0 ? (
          <p className="text-muted-foreground text-xs">Nothing yet.</p>
        ) : (
          <ul className="grid gap-1" data-testid="sandbox-inbox">
            {received.map((m) => (
              <li key={m.id} className="bg-muted rounded-md px-2 py-1 text-sm">
                <span className="text-muted-foreground mr-2 text-xs">{clock(new Date(m.t * 1000).toISOString())}</span>
                {m.text ?? (m.media ? `[${m.media.fileName ?? m.media.mimetype ?? m.media.type}]${m.media.caption ? ` ${m.media.caption}` : ''}` : '[message]')}
              </li>
            ))}
          </ul>
        )}
      </div>
    </li>
  );
}
