import type { ConnectionStatus } from '@/lib/types';
import { Badge } from './ui/badge';

const look: Record<ConnectionStatus, { label: string; variant: 'success' | 'warning' | 'danger' | 'secondary' }> = {
  connected: { label: 'Connected', variant: 'success' },
  connecting: { label: 'Connecting', variant: 'warning' },
  disconnected: { label: 'Disconnected', variant: 'secondary' },
  logged_out: { label: 'Logged out', variant: 'danger' },
  replaced: { label: 'Replaced', variant: 'danger' },
};

export const statusLabel = (status: ConnectionStatus) => look[status]?.label ?? status;

export function StatusBadge({ status }: { status: ConnectionStatus }) {
  const { label, variant } = look[status] ?? { label: status, variant: 'secondary' as const };
  return (
    <Badge variant={variant} data-testid="connection-status" data-status={status}>
      <span aria-hidden className="size-1.5 rounded-full bg-current" />
      {label}
    </Badge>
  );
}

/** What a status reason means to a person. */
export function reasonText(reason: string | null): string | null {
  if (!reason) return null;
  const known: Record<string, string> = {
    runner_unreachable: 'Its runner went away; moving to another one.',
    qr_timeout: 'The QR was not scanned in time. Scan again to link.',
    logged_out: 'Unlinked from the phone.',
    logout_requested: 'Logged out from here.',
    conflict: 'Another WhatsApp Web session took over.',
    untrusted_server: 'The WhatsApp server failed its certificate checks, so nothing was sent to it.',
  };
  return known[reason] ?? reason.replaceAll('_', ' ');
}
