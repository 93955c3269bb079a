// The composer: text (Enter sends, Shift+Enter breaks the line) and one file, sent through
// POST /api/send-message with a fresh client_message_id. The message is shown at once as `pending`; the
// API's answer and then the live stream move it to its real status (or `failed`, with the API's reason).
import { useQueryClient } from '@tanstack/react-query';
import { Loader2Icon, PaperclipIcon, SendIcon, XIcon } from 'lucide-react';
import { useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { Button } from '@/components/ui/button';
import { Textarea } from '@/components/ui/input';
import { api, errorMessage } from '@/lib/api';
import { patchMessage, upsertMessage } from '@/lib/live-cache';
import { keys } from '@/lib/queries';
import type { SendMessageBody } from '@/lib/types';
import type { ShownMessage } from './message-bubble';

/** Larger files are refused here rather than after a long upload (the API's default media limit is 64 MiB). */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

const mediaKind = (mime: string): 'image' | 'video' | 'audio' | 'document' =>
  /^image\/(png|jpe?g|gif|webp)$/.test(mime) ? 'image' : mime.startsWith('video/') ? 'video' : mime.startsWith('audio/') ? 'audio' : 'document';

async function base64Of(file: File): Promise<string> {
  const buf = new Uint8Array(await file.arrayBuffer());
  let bin = '';
  for (let i = 0; i < buf.length; i += 0x8000) bin += String.fromCharCode(...buf.subarray(i, i + 0x8000));
  return btoa(bin);
}

export function Composer({ connectionId, chatId, disabled }: { connectionId: string; chatId: string; disabled?: boolean }) {
  const queryClient = useQueryClient();
  const [text, setText] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const kind = file ? mediaKind(file.type || 'application/octet-stream') : null;
  const canSend = !busy && !disabled && (text.trim().length > 0 || file !== null);

  async function send(e?: FormEvent) {
    e?.preventDefault();
    if (!canSend) return;
    const clientMessageId = `dash-${crypto.randomUUID()}`;
    const now = new Date().toISOString();
    const body: SendMessageBody = { connection_id: connectionId, to: chatId, client_message_id: clientMessageId };
    const caption = kind === 'audio' ? undefined : text;
    if (file && kind) {
      body.media = { type: kind, base64: '', mimetype: file.type || 'application/octet-stream', ...(kind === 'document' ? { filename: file.name } : {}) };
      if (caption) body.message = caption;
    } else {
      body.message = text;
    }
    const optimistic: ShownMessage = {
      id: `local-${clientMessageId}`,
      connection_id: connectionId,
      chat_id: chatId,
      direction: 'outbound',
      from: null,
      to: chatId,
      type: kind ?? 'text',
      message: body.message ?? null,
      content: file ? { mimetype: file.type, filename: file.name, size: file.size } : null,
      reply_to: null,
      mentions: null,
      media: null,
      client_message_id: clientMessageId,
      provider_message_id: null,
      status: 'pending',
      error: null,
      timestamp: now,
      created_at: now,
      updated_at: now,
      edited_at: null,
      deleted_at: null,
      edits: [],
      reactions: [],
      poll_votes: null,
      localPreview: file && kind === 'image' ? URL.createObjectURL(file) : undefined,
    };
    upsertMessage(queryClient, connectionId, chatId, optimistic);
    setText('');
    setFile(null);
    setBusy(true);
    try {
      if (file && body.media) body.media.base64 = await base64Of(file);
      const res = await api<{ status: 'sent' | 'pending'; provider_message_id: string | null }>('/send-message', { method: 'POST', body });
      patchMessage(queryClient, connectionId, chatId, { client_message_id: clientMessageId }, {
        provider_message_id: res.provider_message_id,
        status: res.status,
      });
    } catch (err) {
      patchMessage(queryClient, connectionId, chatId, { client_message_id: clientMessageId }, { status: 'failed', error: errorMessage(err) });
    } finally {
      setBusy(false);
      void queryClient.invalidateQueries({ queryKey: keys.chats(connectionId) });
    }
  }

  function onKey(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void send();
    }
  }

  function pick(f: File | undefined) {
    setFileError(null);
    if (!f) return;
    if (f.size > MAX_FILE_BYTES) {
      setFileError(`That file is ${(f.size / 1048576).toFixed(1)} MB; the dashboard sends files up to 16 MB.`);
      return;
    }
    setFile(f);
  }

  return (
    <form onSubmit={send} className="bg-background border-t p-3">
      {file && (
        <div className="bg-muted mb-2 flex items-center gap-2 rounded-md px-3 py-1.5 text-sm">
          <PaperclipIcon className="size-4 shrink-0" />
          <span className="min-w-0 flex-1 truncate">{file.name}</span>
          <span className="text-muted-foreground text-xs">{kind}</span>
          <Button type="button" variant="ghost" size="icon" className="size-6" onClick={() => setFile(null)} aria-label="Remove the file">
            <XIcon />
          </Button>
        </div>
      )}
      {fileError && <p role="alert" className="text-destructive mb-2 text-xs">{fileError}</p>}
      <div className="flex items-end gap-2">
        <input ref={fileInput} type="file" className="hidden" onChange={(e) => (pick(e.target.files?.[0]), (e.target.value = ''))} data-testid="composer-file" />
        <Button type="button" variant="ghost" size="icon" onClick={() => fileInput.current?.click()} aria-label="Attach a file" disabled={disabled}>
          <PaperclipIcon />
        </Button>
        <Textarea
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKey}
          rows={1}
          placeholder={disabled ? 'Connect this account to send messages' : kind === 'audio' ? 'Audio takes no caption' : file ? 'Add a caption (optional)' : 'Type a message'}
          className="max-h-40 min-h-9 resize-none"
          aria-label="Message"
          disabled={disabled || kind === 'audio'}
        />
        <Button type="submit" size="icon" disabled={!canSend} aria-label="Send">
          {busy ? <Loader2Icon className="animate-spin" /> : <SendIcon />}
        </Button>
      </div>
    </form>
  );
}
