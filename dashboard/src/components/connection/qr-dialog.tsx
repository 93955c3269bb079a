// "Scan QR": asks the API for the connection's QR (which starts its session), then follows the realtime
// stream: each `qr-update` replaces the image, the countdown shows how long it stays valid, and
// `connection-status: connected` closes the dialog. Polls the API too, in case the live stream is down.
import { useQuery } from '@tanstack/react-query';
import { AlertTriangleIcon, CheckCircle2Icon, Loader2Icon } from 'lucide-react';
import { useEffect, useState } from 'react';
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from '@/components/ui/dialog';
import { api } from '@/lib/api';
import { useRealtimeEvent } from '@/lib/realtime';
import type { QrResponse } from '@/lib/types';
import { reasonText } from '../connection-status';
import { useCloseWhenConnected } from './close-when-connected';
import { ErrorState } from '../states';

const POLL_MS = 5_000;

function useCountdown(expiresAt: string | null | undefined) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return expiresAt ? Math.max(0, Math.round((Date.parse(expiresAt) - now) / 1000)) : null;
}

export function QrDialog({ connectionId, onClose }: { connectionId: string | null; onClose: () => void }) {
  return (
    <Dialog open={connectionId !== null} onOpenChange={(open) => !open && onClose()}>
      <DialogContent className="sm:max-w-md">{connectionId && <QrBody connectionId={connectionId} onClose={onClose} />}</DialogContent>
    </Dialog>
  );
}

function QrBody({ connectionId, onClose }: { connectionId: string; onClose: () => void }) {
  const [live, setLive] = useState<Pick<QrResponse, 'qr' | 'qr_raw' | 'expires_at'> | null>(null);
  const qr = useQuery({
    queryKey: ['qr', connectionId],
    queryFn: () => api<QrResponse>(`/get-qr/${encodeURIComponent(connectionId)}`),
    refetchInterval: POLL_MS,
    staleTime: 0,
    gcTime: 0,
  });
  useRealtimeEvent((event, data) => {
    if (event === 'qr-update' && data.connectionId === connectionId) {
      const d = data as { qr: string; qrRaw: string; expiresAt: string };
      setLive({ qr: d.qr, qr_raw: d.qrRaw, expires_at: d.expiresAt });
    }
  });
  // Whichever is newer: the stream's QR, or the poll's.
  const polled = qr.data;
  const shown =
    live && (!polled?.expires_at || !live.expires_at || Date.parse(live.expires_at) >= Date.parse(polled.expires_at)) ? live : polled;
  const seconds = useCountdown(shown?.expires_at);
  const connected = useCloseWhenConnected(connectionId, onClose, polled?.status === 'connected');

  return (
    <>
      <DialogHeader>
        <DialogTitle>Scan to link “{connectionId}”</DialogTitle>
        <DialogDescription>On the phone: WhatsApp → Settings → Linked devices → Link a device, then point the camera here.</DialogDescription>
      </DialogHeader>
      {qr.isError && !shown?.qr ? (
        <ErrorState error={qr.error} onRetry={() => void qr.refetch()} />
      ) : (
        <div className="flex flex-col items-center gap-3">
          <div className="flex aspect-square w-full max-w-72 items-center justify-center rounded-lg border bg-white p-3">
            {connected ? (
              <CheckCircle2Icon className="size-16 text-emerald-600" />
            ) : shown?.qr ? (
              <img src={shown.qr} alt={`QR code to link ${connectionId}`} data-testid="qr-image" data-qr-raw={shown.qr_raw ?? ''} className="size-full" />
            ) : polled && polled.status !== 'connecting' ? (
              <div className="flex flex-col items-center gap-2 p-2 text-center text-sm text-neutral-600" role="alert" data-testid="qr-unavailable">
                <AlertTriangleIcon className="size-6 text-amber-600" />
                No QR: {reasonText(polled.status_reason) ?? 'no runner has taken this connection yet.'} Trying again…
              </div>
            ) : (
              <div className="flex flex-col items-center gap-2 text-sm text-neutral-500" role="status">
                <Loader2Icon className="size-6 animate-spin" /> Waiting for a QR code…
              </div>
            )}
          </div>
          <p className="text-muted-foreground text-sm" aria-live="polite" data-testid="qr-expiry">
            {seconds === null ? '\u00a0' : seconds > 0 ? `Expires in ${seconds} s; a new one follows by itself.` : 'Expired; a new one is on its way…'}
          </p>
        </div>
      )}
    </>
  );
}
