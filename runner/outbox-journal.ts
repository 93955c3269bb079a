// The outbox's copy on local disk. Baileys acknowledges a message to WhatsApp before the runner has
// handed it to the control plane, so an event that only lived in memory is gone for good if the process
// dies before its batch is accepted (kill -9, OOM kill, crash) — for minutes' worth of events during a
// control-plane outage. With a journal, every event is appended (one write(2), so it survives the death
// of the process) before it can be lost, and marked done once accepted or dropped; a restarted runner
// replays what was never done. Appends are flushed to the disk itself (fdatasync) within `syncMs` of
// being written (OUTBOX_FSYNC_MS, 100 by default; 0: before every append returns), which bounds what a
// crash of the machine or a power cut can lose to that window's events.
//
// Format: JSON lines, `{"n":<seq>,"pk","epoch","event"}` for an event and `{"done":[<seq>…]}` once
// events leave the outbox. The file is truncated whenever nothing is pending and rewritten with only the
// pending events when it grows past `compactBytes`, so it stays about the size of the outbox itself.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { RunnerEvent } from '../protocol/runner.js';
import { AppendFile } from './append-file.js';

export type JournalEntry = { pk: string; epoch: number; event: RunnerEvent; seq?: number };

const FILE = 'outbox.jsonl';

export class OutboxJournal {
  private readonly out: AppendFile;
  private nextSeq = 1;

  private constructor(
    private readonly file: string,
    private readonly compactBytes: number,
    syncMs: number,
  ) {
    this.out = new AppendFile(file, syncMs);
  }

  /** fdatasync calls so far (tests and metrics). */
  get syncs(): number {
    return this.out.syncs;
  }

  /**
   * Opens the journal in `dir` and returns the events a previous process left pending, in order, already
   * carried over into the fresh journal.
   */
  static open(dir: string, opts: { compactBytes?: number; syncMs?: number } = {}): { journal: OutboxJournal; pending: JournalEntry[] } {
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, FILE);
    const pending = existsSync(file) ? readPending(readFileSync(file, 'utf8')) : [];
    const journal = new OutboxJournal(file, opts.compactBytes ?? 16 * 1024 * 1024, opts.syncMs ?? 100);
    journal.rewrite(pending);
    return { journal, pending };
  }

  /** Records events entering the outbox (gives each its journal sequence number). */
  added(entries: JournalEntry[]): void {
    if (entries.length === 0) return;
    let text = '';
    for (const e of entries) {
      e.seq = this.nextSeq++;
      text += journalLine(e);
    }
    this.out.append(text);
  }

  /** Records events leaving the outbox (accepted, or dropped on purpose); `pending` is what is left. */
  done(entries: Iterable<JournalEntry>, pending: readonly JournalEntry[]): void {
    if (pending.length === 0) {
      // Nothing left to replay: start the file over rather than log what is done.
      this.out.truncate();
      return;
    }
    const seqs = [...entries].map((e) => e.seq).filter((n): n is number => n !== undefined);
    if (seqs.length) this.out.append(`${JSON.stringify({ done: seqs })}\n`);
    if (this.out.bytes > this.compactBytes) this.rewrite(pending);
  }

  close(): void {
    this.out.close();
  }

  /** Replaces the file with just these events (write to a temporary file, then rename over). */
  private rewrite(pending: readonly JournalEntry[]): void {
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w');
    let text = '';
    for (const e of pending) {
      e.seq = this.nextSeq++;
      text += journalLine(e);
    }
    const buf = Buffer.from(text);
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.file);
    this.out.reopen(buf.length);
  }
}

/** One event's line in a journal (or a spill segment); `json` is the event's JSON when it was made already. */
export const journalLine = (e: JournalEntry & { json?: string }): string =>
  `{"n":${e.seq ?? 0},"pk":${JSON.stringify(e.pk)},"epoch":${e.epoch},"event":${e.json ?? JSON.stringify(e.event)}}\n`;

/** Events of a journal that were never marked done, in the order they were added. */
export function readPending(text: string): JournalEntry[] {
  const events = new Map<number, JournalEntry>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    let rec: { n?: number; pk?: string; epoch?: number; event?: RunnerEvent; done?: number[] };
    try {
      rec = JSON.parse(line);
    } catch {
      continue; // a line cut short by the crash: its event was never handed over either
    }
    if (Array.isArray(rec.done)) for (const n of rec.done) events.delete(n);
    else if (typeof rec.n === 'number' && typeof rec.pk === 'string' && typeof rec.epoch === 'number' && rec.event) {
      events.set(rec.n, { pk: rec.pk, epoch: rec.epoch, event: rec.event });
    }
  }
  return [...events.values()];
}
