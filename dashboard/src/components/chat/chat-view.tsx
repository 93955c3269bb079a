// One chat's history: newest at the bottom, older pages loaded as you scroll up (the container is
// column-reversed, so the view starts at the bottom and keeps its place when older messages arrive).
import { ArrowLeftIcon, Loader2Icon } from 'lucide-react';
import { Fragment, useEffect, useRef } from 'react';
import { Link } from 'wouter';
import { ErrorState } from '@/components/states';
import { Button } from '@/components/ui/button';
import { Skeleton } from '@/components/ui/skeleton';
import { dayLabel, jidLabel } from '@/lib/format';
import { useMessages } from '@/lib/queries';
import { Composer } from './composer';
import { MessageBubble, type ShownMessage } from './message-bubble';

export function ChatView({ connectionId, chatId, name, canSend }: { connectionId: string; chatId: string; name: string | null; canSend: boolean }) {
  const messages = useMessages(connectionId, chatId);
  const top = useRef<HTMLDivElement>(null);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = messages;

  useEffect(() => {
    const el = top.current;
    if (!el) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries[0]?.isIntersecting && hasNextPage && !isFetchingNextPage) void fetchNextPage();
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);

  const items = (messages.data?.pages.flatMap((p) => p.items) ?? []) as ShownMessage[];
  return (
    <div className="flex h-full min-h-0 flex-col">
      <div className="flex items-center gap-2 border-b px-3 py-2">
        <Button variant="ghost" size="icon" className="md:hidden" asChild>
          <Link href={`/messages/${encodeURIComponent(connectionId)}`} aria-label="Back to chats">
            <ArrowLeftIcon />
          </Link>
        </Button>
        <div className="min-w-0">
          <p className="truncate font-medium" data-testid="chat-title">{name ?? jidLabel(chatId)}</p>
          <p className="text-muted-foreground truncate text-xs">{chatId}</p>
        </div>
      </div>
      <div className="bg-muted/30 flex min-h-0 flex-1 flex-col-reverse gap-2 overflow-y-auto p-3" data-testid="message-list" role="log" aria-live="polite">
        {messages.isPending ? (
          <div className="flex flex-col gap-3">
            <Skeleton className="h-10 w-1/2" />
            <Skeleton className="ml-auto h-10 w-1/3" />
            <Skeleton className="h-10 w-2/5" />
          </div>
        ) : messages.isError ? (
          <ErrorState error={messages.error} onRetry={() => void messages.refetch()} />
        ) : items.length === 0 ? (
          <p className="text-muted-foreground m-auto text-sm">No messages yet. Say hello.</p>
        ) : (
          items.map((m, i) => {
            const older = items[i + 1];
            const newDay = !older || dayLabel(older.timestamp) !== dayLabel(m.timestamp);
            return (
              <Fragment key={m.id}>
                <MessageBubble message={m} />
                {newDay && (
                  <div className="text-muted-foreground my-1 self-center rounded-full border px-3 py-0.5 text-xs">{dayLabel(m.timestamp)}</div>
                )}
              </Fragment>
            );
          })
        )}
        <div ref={top} className="flex justify-center py-1">
          {isFetchingNextPage && <Loader2Icon className="text-muted-foreground size-4 animate-spin" />}
        </div>
      </div>
      <Composer connectionId={connectionId} chatId={chatId} disabled={!canSend} />
    </div>
  );
}
