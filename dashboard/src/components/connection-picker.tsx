// Picks one of the tenant's connections; the choice lives in the URL so it survives reloads and links.
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
