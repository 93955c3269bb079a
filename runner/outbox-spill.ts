// Where the outbox keeps what does not fit in memory. During a long control-plane outage a busy runner
// receives more than OUTBOX_MAX_BYTES; rather than evict the oldest events (messages among them), the
// outbox writes the newest to segment files on local disk (`spill-<n>.jsonl` in OUTBOX_DIR, each about
// `segmentBytes`) and reads the oldest segment back whenever memory has room, so events keep their order.
// Only past `maxBytes` on disk is anything evicted: the oldest segment, counted and logged.
//
// A segment is written like the journal (appended, fdatasync within `syncMs`), and a restarted runner
// picks up the segments it finds, after the journal's own events. A segment read back goes into the
// journal before its file is deleted, so a crash in between replays it twice (storage is idempotent by
// event id) and never loses it.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { AppendFile } from './append-file.js';
import { journalLine, readPending, type JournalEntry } from './outbox-journal.js';

const SEGMENT = /^spill-(\d{8})\.jsonl$/;

type Segment = {
  n: number;
  file: string;
  events: number;
  bytes: number;
  /** Connections with events in this segment, and the highest epoch of each (for flush and drop). */
  leases: Map<string, number>;
  writer?: AppendFile;
};

export type SpillOptions = { segmentBytes?: number; maxBytes?: number; syncMs?: number };

export class OutboxSpill {
  private readonly segments: Segment[] = [];
  private nextN = 1;
  private readonly segmentBytes: number;
  readonly maxBytes: number;
  private readonly syncMs: number;
  /** Events and bytes on disk. */
  events = 0;
  bytes = 0;

  constructor(private readonly dir: string, opts: SpillOptions = {}) {
    this.segmentBytes = opts.segmentBytes ?? 8 * 1024 * 1024;
    this.maxBytes = opts.maxBytes ?? 4 * 1024 * 1024 * 1024;
    this.syncMs = opts.syncMs ?? 100;
    mkdirSync(dir, { recursive: true });
    // Segments a previous process left, oldest first: they are read back like any other.
    const found = readdirSync(dir)
      .map((f) => SEGMENT.exec(f))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    for (const n of found) {
      const file = this.fileOf(n);
      const entries = readPending(readFileSync(file, 'utf8'));
      if (entries.length === 0) {
        unlinkSync(file);
        continue;
      }
      const segment: Segment = { n, file, events: 0, bytes: statSync(file).size, leases: new Map() };
      for (const e of entries) note(segment, e);
      this.segments.push(segment);
      this.events += segment.events;
      this.bytes += segment.bytes;
    }
    this.nextN = (found.at(-1) ?? 0) + 1;
  }

  /** Writes events after everything already spilled. */
  write(entries: Array<JournalEntry & { json?: string }>): void {
    if (entries.length === 0) return;
    let segment = this.segments.at(-1);
    if (!segment?.writer || segment.writer.bytes >= this.segmentBytes) segment = this.startSegment();
    let text = '';
    for (const e of entries) {
      text += journalLine({ ...e, seq: segment.events + 1 });
      note(segment, e);
    }
    const before = segment.writer!.bytes;
    segment.writer!.append(text);
    this.bytes += segment.writer!.bytes - before;
    segment.bytes = segment.writer!.bytes;
    this.events += entries.length;
  }

  /** Bytes and events of the oldest segment (what `takeOldest` would give), or undefined when none. */
  peek(): { events: number; bytes: number } | undefined {
    const s = this.segments[0];
    return s && { events: s.events, bytes: s.bytes };
  }

  /**
   * The oldest segment's events, and `release` to delete its file once they are safe elsewhere (in the
   * journal). The segment no longer counts from this call on.
   */
  takeOldest(): { entries: JournalEntry[]; release: () => void } | undefined {
    const segment = this.segments.shift();
    if (!segment) return undefined;
    segment.writer?.close();
    this.events -= segment.events;
    this.bytes -= segment.bytes;
    const entries = existsSync(segment.file) ? readPending(readFileSync(segment.file, 'utf8')) : [];
    return { entries, release: () => existsSync(segment.file) && unlinkSync(segment.file) };
  }

  /** Whether events of this connection are on disk. */
  has(pk: string): boolean {
    return this.segments.some((s) => s.leases.has(pk));
  }

  /** The highest epoch of this connection on disk, if any. */
  highestEpoch(pk: string): number | undefined {
    let max: number | undefined;
    for (const s of this.segments) {
      const e = s.leases.get(pk);
      if (e !== undefined && (max === undefined || e > max)) max = e;
    }
    return max;
  }

  /** Forgets that this connection has events on disk at or below `epoch` (the outbox filters them when read back). */
  forget(pk: string, epoch: number): void {
    for (const s of this.segments) if ((s.leases.get(pk) ?? Infinity) <= epoch) s.leases.delete(pk);
  }

  close(): void {
    for (const s of this.segments) s.writer?.close();
    for (const s of this.segments) s.writer = undefined;
  }

  private startSegment(): Segment {
    const last = this.segments.at(-1);
    if (last?.writer) {
      last.writer.close();
      last.writer = undefined;
    }
    const n = this.nextN++;
    const file = this.fileOf(n);
    const segment: Segment = { n, file, events: 0, bytes: 0, leases: new Map(), writer: new AppendFile(file, this.syncMs) };
    this.segments.push(segment);
    return segment;
  }

  private fileOf(n: number): string {
    return path.join(this.dir, `spill-${String(n).padStart(8, '0')}.jsonl`);
  }
}

function note(segment: Segment, e: JournalEntry): void {
  segment.events++;
  segment.leases.set(e.pk, Math.max(segment.leases.get(e.pk) ?? 0, e.epoch));
}
