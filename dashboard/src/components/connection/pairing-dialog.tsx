// "Link with phone number": WhatsApp gives an 8-character code for that number, typed on the phone.
import { useMutation } from '@tanstack/react-query';
import { Loader2Icon } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import { Button } from '@/components/ui/button';
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from '@/components/ui/dialog';
import { Input } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { api, errorMessage } from '@/lib/api';
import { useCloseWhenConnected } from './close-when-connected';

const PHONE = /^\+?[1-9]\d{5,14}$/;

export function PairingDialog({ connectionId, onClose }: { connectionId: string | null; onClose: () => void }) {
  return (
    <Dialog open={connectionId !== null} onOpenChange={(open) => !open && onClose()}>
      <DialogContent>{connectionId && <PairingBody connectionId={connectionId} onClose={onClose} />}</DialogContent>
    </Dialog>
  );
}

function PairingBody({ connectionId, onClose }: { connectionId: string; onClose: () => void }) {
  const [phone, setPhone] = useState('');
  const cleaned = phone.replace(/[\s().-]/g, '');
  const pairing = useMutation({
    mutationFn: () =>
      api<{ code: string }>(`/connections/${encodeURIComponent(connectionId)}/pairing-code`, { method: 'POST', body: { phone_number: cleaned } }),
  });
  useCloseWhenConnected(connectionId, onClose);

  function submit(e: FormEvent) {
    e.preventDefault();
    if (PHONE.test(cleaned)) pairing.mutate();
  }

  const code = pairing.data?.code;
  return (
    <>
      <DialogHeader>
        <DialogTitle>Link “{connectionId}” with a phone number</DialogTitle>
        <DialogDescription>On the phone: WhatsApp → Linked devices → Link a device → Link with phone number instead, then type the code.</DialogDescription>
      </DialogHeader>
      {code ? (
        <div className="flex flex-col items-center gap-3 py-2">
          <p className="font-mono text-4xl font-semibold tracking-[0.3em] sm:text-5xl" data-testid="pairing-code" aria-label={`Pairing code ${code.split('').join(' ')}`}>
            {code.slice(0, 4)}-{code.slice(4)}
          </p>
          <p className="text-muted-foreground flex items-center gap-2 text-sm" role="status">
            <Loader2Icon className="size-4 animate-spin" /> Waiting for the phone…
          </p>
        </div>
      ) : (
        <form onSubmit={submit} className="grid gap-4" noValidate>
          <div className="grid gap-2">
            <Label htmlFor="pairing-phone">Phone number of the WhatsApp account</Label>
            <Input id="pairing-phone" inputMode="tel" placeholder="+92 300 1234567" value={phone} onChange={(e) => setPhone(e.target.value)} />
            <p className="text-muted-foreground text-xs">With country code, e.g. +44 7700 900123.</p>
          </div>
          {pairing.isError && (
            <p role="alert" className="text-destructive text-sm">
              {errorMessage(pairing.error)}
            </p>
          )}
          <DialogFooter>
            <Button type="submit" disabled={!PHONE.test(cleaned) || pairing.isPending}>
              {pairing.isPending && <Loader2Icon className="animate-spin" />} Get code
            </Button>
          </DialogFooter>
        </form>
      )}
    </>
  );
}
