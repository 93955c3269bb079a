// One message in a chat: text, media (thumbnail or file card), time and, for what we sent, its ticks.
import { AlertCircleIcon, CheckCheckIcon, CheckIcon, ClockIcon, ContactIcon, FileIcon, ImageIcon, ListChecksIcon, MapPinIcon, MicIcon, VideoIcon } from 'lucide-react';
import { clock } from '@/lib/format';
import type { Message, MessageStatus } from '@/lib/types';
import { cn } from '@/lib/utils';

/** A message being sent from this page: the file stays here so it can be shown before the API has it. */
export type ShownMessage = Message & { localPreview?: string };

const tickLabel: Partial<Record<MessageStatus, string>> = {
  pending: 'Sending',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  played: 'Played',
  failed: 'Failed',
};

export function StatusTicks({ status }: { status: MessageStatus }) {
  const label = tickLabel[status] ?? status;
  const icon =
    status === 'pending' ? (
      <ClockIcon className="size-3.5" />
    ) : status === 'sent' ? (
      <CheckIcon className="size-3.5" />
    ) : status === 'delivered' ? (
      <CheckCheckIcon className="size-3.5" />
    ) : status === 'read' || status === 'played' ? (
      <CheckCheckIcon className="size-3.5 text-sky-500" />
    ) : status === 'failed' ? (
      <AlertCircleIcon className="text-destructive size-3.5" />
    ) : null;
  return (
    <span data-testid="message-status" data-status={status} title={label} aria-label={label} className="inline-flex">
      {icon}
    </span>
  );
}

interface MediaContent {
  mimetype?: string;
  filename?: string;
  fileName?: string;
  size?: number;
  fileLength?: string | number;
  jpegThumbnail?: string;
  thumbnail?: string;
}

/** Whatever describes the file: its content (MediaContent), or for messages stored before it the WhatsApp message (imageMessage, …). */
function mediaOf(m: Message): MediaContent | null {
  const c = m.content as Record<string, unknown> | null;
  if (!c || typeof c !== 'object') return null;
  const inner = (c[`${m.type}Message`] as MediaContent | undefined) ?? (c as MediaContent);
  return inner && typeof inner === 'object' ? inner : null;
}

const bytes = (n: number | undefined) =>
  n === undefined || !Number.isFinite(n) ? '' : n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(0)} KB` : `${(n / 1048576).toFixed(1)} MB`;

const mediaIcon = (type: string) =>
  type === 'image' || type === 'sticker' ? <ImageIcon /> : type === 'video' ? <VideoIcon /> : type === 'audio' ? <MicIcon /> : <FileIcon />;

function Media({ message }: { message: ShownMessage }) {
  const media = mediaOf(message);
  const thumb = message.localPreview ?? ((media?.thumbnail ?? media?.jpegThumbnail) ? `data:image/jpeg;base64,${media.thumbnail ?? media.jpegThumbnail}` : null);
  if ((message.type === 'image' || message.type === 'sticker') && thumb) {
    return <img src={thumb} alt={media?.filename ?? 'Image'} className="max-h-64 max-w-full rounded-md object-contain" data-testid="message-image" />;
  }
  const name = media?.filename ?? media?.fileName ?? (message.type === 'document' ? 'Document' : message.type[0]!.toUpperCase() + message.type.slice(1));
  const size = media?.size ?? (media?.fileLength === undefined ? undefined : Number(media.fileLength));
  return (
    <div className="bg-background/60 flex items-center gap-3 rounded-md border p-2 [&_svg]:size-5" data-testid="message-file">
      {mediaIcon(message.type)}
      <div className="min-w-0">
        <p className="truncate text-sm font-medium">{name}</p>
        <p className="text-muted-foreground text-xs">{[media?.mimetype, bytes(size)].filter(Boolean).join(' · ')}</p>
      </div>
    </div>
  );
}

/** A location, contact cards or a poll, from their content (protocol/inbound-content.ts), the same whichever way they went. */
function Structured({ message }: { message: ShownMessage }) {
  const c = (message.content ?? {}) as Record<string, any>;
  const row = (icon: React.ReactNode, title: string, detail?: string) => (
    <div className="bg-background/60 flex items-center gap-3 rounded-md border p-2 [&_svg]:size-5" data-testid={`message-${message.type}`}>
      {icon}
      <div className="min-w-0">
        <p className="truncate text-sm font-medium">{title}</p>
        {detail && <p className="text-muted-foreground truncate text-xs">{detail}</p>}
      </div>
    </div>
  );
  if (message.type === 'location') {
    return row(<MapPinIcon />, c.name ?? (c.live ? 'Live location' : 'Location'), [c.address, typeof c.latitude === 'number' ? `${c.latitude}, ${c.longitude}` : null].filter(Boolean).join(' · '));
  }
  if (message.type === 'contacts') {
    const cards = Array.isArray(c.contacts) ? c.contacts : [];
    return row(<ContactIcon />, cards.map((k: any) => k.name ?? 'Contact').join(', ') || 'Contact', cards.flatMap((k: any) => (k.phones ?? []).map((p: any) => p.number)).join(', '));
  }
  return row(<ListChecksIcon />, c.name ?? 'Poll', Array.isArray(c.options) ? c.options.join(' · ') : undefined);
}

const STRUCTURED = new Set(['location', 'contacts', 'poll']);

export function MessageBubble({ message }: { message: ShownMessage }) {
  const outbound = message.direction === 'outbound';
  const isText = message.type === 'text';
  const structured = STRUCTURED.has(message.type) && message.content !== null && typeof message.content === 'object' && !Object.keys(message.content).some((k) => k.endsWith('Message'));
  return (
    <div className={cn('flex', outbound ? 'justify-end' : 'justify-start')} data-testid="message" data-direction={message.direction} data-client-id={message.client_message_id ?? ''}>
      <div className={cn('flex max-w-[85%] flex-col gap-1 rounded-lg px-3 py-2 shadow-xs sm:max-w-[70%]', outbound ? 'bg-bubble-out' : 'bg-card border')}>
        {structured ? <Structured message={message} /> : !isText && <Media message={message} />}
        {message.message && !(structured && message.type !== 'contacts') && (
          <p className={cn('text-sm break-words whitespace-pre-wrap', message.deleted_at && 'text-muted-foreground line-through')}>{message.message}</p>
        )}
        {message.poll_votes && message.poll_votes.length > 0 && (
          <ul className="text-xs" data-testid="poll-votes">
            {message.poll_votes.map((o) => (
              <li key={o.option}>
                {o.option}: {o.count}
              </li>
            ))}
          </ul>
        )}
        {message.reactions && message.reactions.length > 0 && (
          <p className="text-sm" data-testid="message-reactions" title={message.reactions.map((r) => `${r.from ?? 'you'} ${r.emoji}`).join(', ')}>
            {message.reactions.map((r) => r.emoji).join(' ')}
          </p>
        )}
        {!isText && !message.message && !mediaOf(message) && <p className="text-muted-foreground text-sm italic">{message.type} message</p>}
        <div className="text-muted-foreground flex items-center justify-end gap-1 text-[11px]">
          {message.deleted_at && <span data-testid="message-deleted">deleted</span>}
          {message.edited_at && !message.deleted_at && <span data-testid="message-edited">edited</span>}
          <time dateTime={message.timestamp}>{clock(message.timestamp)}</time>
          {outbound && <StatusTicks status={message.status} />}
        </div>
        {message.status === 'failed' && message.error && <p className="text-destructive text-xs">{message.error}</p>}
      </div>
    </div>
  );
}
