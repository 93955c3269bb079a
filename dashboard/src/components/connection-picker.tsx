// Picks one of the tenant's connections; the choice lives in the URL so it survives reloads and links.
import { useCallback, useEffect } from 'react';
import { useLocation } from 'wouter';
import { useConnections } from '@/lib/queries';
import { NativeSelect } from './ui/input';
import { statusLabel } from './connection-status';
import type { Connection } from '@/lib/types';

export function ConnectionPicker({ connections, value, onChange }: { connections: Connection[]; value: string | undefined; onChange: (id: string) => void }) {
  return (
    <NativeSelect value={value ?? ''} onChange={(e) => onChange(e.target.value)} aria-label="Connection" className="w-full sm:w-64">
      {!value && <option value="">Choose a connection</option>}
      {connections.map((c) => (
        <option key={c.connection_id} value={c.connection_id}>
          {c.connection_id} · {statusLabel(c.status)}
        </option>
      ))}
    </NativeSelect>
  );
}

/**
 * The connection a per-connection page (`/messages/:id`, `/webhooks/:id`) shows: the one in the URL, else
 * the first connected one (or the first), put in the URL so that reloads and links keep it.
 */
export function useChosenConnection(section: '/messages' | '/webhooks', param: string | undefined) {
  const connections = useConnections();
  const [, navigate] = useLocation();
  const connectionId = param ? decodeURIComponent(param) : undefined;
  const choose = useCallback((id: string) => navigate(`${section}/${encodeURIComponent(id)}`), [navigate, section]);
  useEffect(() => {
    if (connectionId || !connections.data?.length) return;
    const first = connections.data.find((c) => c.status === 'connected') ?? connections.data[0]!;
    navigate(`${section}/${encodeURIComponent(first.connection_id)}`, { replace: true });
  }, [connectionId, connections.data, navigate, section]);
  return { connections, connectionId, choose };
}
