import { useEffect, useRef, useState } from 'react';
import { toast } from 'sonner';
import { useRealtimeEvent } from '@/lib/realtime';

/**
 * The end of a linking dialog (QR, pairing code): once the connection is connected, whether the live stream
 * said so or the caller saw it (`seenConnected`, e.g. from a poll), it says so once and closes.
 */
export function useCloseWhenConnected(connectionId: string, onClose: () => void, seenConnected = false): boolean {
  const [heard, setHeard] = useState(false);
  useRealtimeEvent((event, data) => {
    if (event === 'connection-status' && data.connectionId === connectionId && (data as { status: string }).status === 'connected') setHeard(true);
  });
  const connected = heard || seenConnected;
  const closed = useRef(false);
  useEffect(() => {
    if (!connected || closed.current) return;
    closed.current = true;
    toast.success(`“${connectionId}” is connected.`);
    onClose();
  }, [connected, connectionId, onClose]);
  return connected;
}
