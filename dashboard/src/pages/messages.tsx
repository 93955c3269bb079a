// Messages: pick a connection, then a chat; read and answer it. Two panes on wide screens, one on phones.
import { MessagesSquareIcon } from 'lucide-react';
import { Link, useParams } from 'wouter';
import { ChatList, chatHref } from '@/components/chat/chat-list';
import { ChatView } from '@/components/chat/chat-view';
import { ConnectionPicker, useChosenConnection } from '@/components/connection-picker';
import { EmptyState, ErrorState, ListSkeleton, PageHeader } from '@/components/states';
import { Button } from '@/components/ui/button';
import { useChats } from '@/lib/queries';
import { cn } from '@/lib/utils';

export function MessagesPage() {
  const params = useParams<{ connectionId?: string; chatId?: string }>();
  const { connections, connectionId, choose } = useChosenConnection('/messages', params.connectionId);
  const chatId = params.chatId ? decodeURIComponent(params.chatId) : undefined;
  const chats = useChats(connectionId);
  const connection = connections.data?.find((c) => c.connection_id === connectionId);

  if (connections.isPending) return <ListSkeleton rows={2} className="h-24" />;
  if (connections.isError) return <ErrorState error={connections.error} onRetry={() => void connections.refetch()} />;
  if (connections.data.length === 0) {
    return (
      <>
        <PageHeader title="Messages" />
        <EmptyState
          icon={<MessagesSquareIcon />}
          title="No connections yet"
          action={
            <Button asChild>
              <Link href="/connections">Create a connection</Link>
            </Button>
          }
        >
          Link a WhatsApp account first; its chats appear here.
        </EmptyState>
      </>
    );
  }

  const chatName = chats.data?.find((c) => c.chat_id === chatId)?.name ?? null;
  return (
    <div className="flex h-[calc(100dvh-9rem)] min-h-[28rem] flex-col gap-3 md:h-[calc(100dvh-6.5rem)]">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="text-2xl font-semibold tracking-tight">Messages</h1>
        <ConnectionPicker connections={connections.data} value={connectionId} onChange={choose} />
      </div>
      {connectionId && !connection ? (
        <ErrorState error={new Error(`There is no connection “${connectionId}”.`)} />
      ) : connectionId ? (
        <div className="bg-card grid min-h-0 flex-1 overflow-hidden rounded-xl border md:grid-cols-[20rem_1fr]">
          <div className={cn('min-h-0 md:border-r', chatId && 'hidden md:block')}>
            <ChatList connectionId={connectionId} activeChatId={chatId} />
          </div>
          <div className={cn('min-h-0', !chatId && 'hidden md:block')}>
            {chatId ? (
              <ChatView key={chatHref(connectionId, chatId)} connectionId={connectionId} chatId={chatId} name={chatName} canSend={connection?.status === 'connected'} />
            ) : (
              <div className="text-muted-foreground flex h-full items-center justify-center p-6 text-sm">Choose a chat.</div>
            )}
          </div>
        </div>
      ) : null}
    </div>
  );
}
