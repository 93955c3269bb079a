// A connection's chats, most recent first: name (contact or group subject), last message, unread count,
// filtered by a search over names and numbers; "New chat" opens a chat with any number.
import { MessageSquarePlusIcon, SearchIcon } from 'lucide-react';
import { useMemo, useState, type FormEvent } from 'react';
import { Link, useLocation } from 'wouter';
import { ErrorState, ListSkeleton } from '@/components/states';
import { Button } from '@/components/ui/button';
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from '@/components/ui/dialog';
import { Input } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { jidLabel, timeAgo } from '@/lib/format';
import { useChats } from '@/lib/queries';
import { cn } from '@/lib/utils';

export const chatHref = (connectionId: string, chatId: string) => `/messages/${encodeURIComponent(connectionId)}/${encodeURIComponent(chatId)}`;

export function ChatList({ connectionId, activeChatId }: { connectionId: string; activeChatId: string | undefined }) {
  const chats = useChats(connectionId);
  const [search, setSearch] = useState('');
  const shown = useMemo(() => {
    const q = search.trim().toLowerCase();
    const list = chats.data ?? [];
    return q ? list.filter((c) => (c.name ?? '').toLowerCase().includes(q) || c.chat_id.includes(q.replace(/^\+/, ''))) : list;
  }, [chats.data, search]);

  return (
    <div className="flex h-full min-h-0 flex-col">
      <div className="flex gap-2 border-b p-3">
        <div className="relative flex-1">
          <SearchIcon className="text-muted-foreground absolute top-2.5 left-2.5 size-4" />
          <Input placeholder="Search chats" className="pl-8" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="Search chats" />
        </div>
        <NewChatDialog connectionId={connectionId} />
      </div>
      <div className="min-h-0 flex-1 overflow-y-auto" data-testid="chat-list">
        {chats.isPending ? (
          <div className="p-3">
            <ListSkeleton rows={5} className="h-12" />
          </div>
        ) : chats.isError ? (
          <div className="p-3">
            <ErrorState error={chats.error} onRetry={() => void chats.refetch()} />
          </div>
        ) : shown.length === 0 ? (
          <p className="text-muted-foreground p-6 text-center text-sm">{search ? 'No chat matches.' : 'No chats yet: messages you send or receive start one.'}</p>
        ) : (
          <ul>
            {shown.map((c) => (
              <li key={c.chat_id}>
                <Link
                  href={chatHref(connectionId, c.chat_id)}
                  data-testid="chat-item"
                  data-chat-id={c.chat_id}
                  aria-current={c.chat_id === activeChatId ? 'page' : undefined}
                  className={cn('hover:bg-accent/60 flex items-center gap-3 border-b px-3 py-2.5', c.chat_id === activeChatId && 'bg-accent')}
                >
                  <div className="bg-primary/15 text-primary flex size-9 shrink-0 items-center justify-center rounded-full text-sm font-semibold">
                    {(c.name ?? jidLabel(c.chat_id)).replace(/^\+/, '').slice(0, 1).toUpperCase()}
                  </div>
                  <div className="min-w-0 flex-1">
                    <div className="flex items-baseline justify-between gap-2">
                      <p className="truncate text-sm font-medium">{c.name ?? jidLabel(c.chat_id)}</p>
                      <span className="text-muted-foreground shrink-0 text-xs">{timeAgo(c.last_message_at)}</span>
                    </div>
                    <div className="flex items-center justify-between gap-2">
                      <p className="text-muted-foreground truncate text-xs">{c.last_message ?? '…'}</p>
                      {c.unread_count > 0 && (
                        <span className="bg-primary text-primary-foreground rounded-full px-1.5 text-[11px] font-semibold" aria-label={`${c.unread_count} unread`} data-testid="unread-count">
                          {c.unread_count}
                        </span>
                      )}
                    </div>
                  </div>
                </Link>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}

function NewChatDialog({ connectionId }: { connectionId: string }) {
  const [open, setOpen] = useState(false);
  const [number, setNumber] = useState('');
  const [, navigate] = useLocation();
  const digits = number.replace(/[\s().+-]/g, '');
  const valid = /^[1-9]\d{5,14}$/.test(digits);
  function submit(e: FormEvent) {
    e.preventDefault();
    if (!valid) return;
    setOpen(false);
    setNumber('');
    navigate(chatHref(connectionId, `${digits}@s.whatsapp.net`));
  }
  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <Button variant="outline" size="icon" onClick={() => setOpen(true)} aria-label="New chat">
        <MessageSquarePlusIcon />
      </Button>
      <DialogContent>
        <form onSubmit={submit} className="grid gap-4">
          <DialogHeader>
            <DialogTitle>New chat</DialogTitle>
            <DialogDescription>Write to a WhatsApp number.</DialogDescription>
          </DialogHeader>
          <div className="grid gap-2">
            <Label htmlFor="new-chat-number">Phone number with country code</Label>
            <Input id="new-chat-number" inputMode="tel" placeholder="+44 7700 900123" value={number} onChange={(e) => setNumber(e.target.value)} />
          </div>
          <DialogFooter>
            <Button type="submit" disabled={!valid}>
              Open chat
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
