import { CheckIcon, CopyIcon } from 'lucide-react';
import { useState } from 'react';
import { toast } from 'sonner';
import { Button } from './ui/button';

/** Copies `value`; says so for a moment. Falls back to selecting the text where the clipboard is refused. */
export function CopyButton({ value, label = 'Copy' }: { value: string; label?: string }) {
  const [done, setDone] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(value);
      setDone(true);
      setTimeout(() => setDone(false), 1500);
    } catch {
      toast.error('The browser refused the clipboard: select the text and copy it yourself.');
    }
  }
  return (
    <Button type="button" variant="outline" size="sm" onClick={copy} aria-label={label}>
      {done ? <CheckIcon /> : <CopyIcon />} {done ? 'Copied' : label}
    </Button>
  );
}

/** A secret shown once: monospace, selectable, with a copy button and the warning that it will not be shown again. */
export function SecretOnce({ value, testId }: { value: string; testId?: string }) {
  return (
    <div className="flex flex-col gap-2">
      <div className="flex items-center gap-2">
        <code data-testid={testId} className="bg-muted min-w-0 flex-1 rounded-md px-3 py-2 font-mono text-sm break-all select-all">
          {value}
        </code>
        <CopyButton value={value} />
      </div>
      <p className="text-muted-foreground text-xs">Store it now: it is not shown again.</p>
    </div>
  );
}
