// A file that only grows at its end, flushed to the disk itself (fdatasync) within `syncMs` of a write
// (0: before every append returns). The outbox's journal and its spill segments are each one.
import { closeSync, fdatasyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';

export class AppendFile {
  private fd: number;
  private syncTimer: NodeJS.Timeout | undefined;
  /** Bytes in the file. */
  bytes = 0;
  /** fdatasync calls so far (tests and metrics). */
  syncs = 0;

  constructor(readonly file: string, private readonly syncMs: number, initialBytes = 0) {
    this.fd = openSync(file, 'a');
    this.bytes = initialBytes;
  }

  append(text: string): void {
    const buf = Buffer.from(text);
    let off = 0;
    // One write(2) in all but rare cases: what the kernel has survives the death of the process.
    while (off < buf.length) off += writeSync(this.fd, buf, off);
    this.bytes += buf.length;
    if (this.syncMs === 0) this.sync();
    else if (!this.syncTimer) {
      this.syncTimer = setTimeout(() => this.sync(), this.syncMs);
      this.syncTimer.unref();
    }
  }

  truncate(): void {
    ftruncateSync(this.fd, 0);
    this.bytes = 0;
  }

  /** Points at `file` again after it was replaced by a rename (its content is `bytes` long). */
  reopen(bytes: number): void {
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    closeSync(this.fd);
    this.fd = openSync(this.file, 'a');
    this.bytes = bytes;
  }

  sync(): void {
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    fdatasyncSync(this.fd);
    this.syncs++;
  }

  close(): void {
    this.sync();
    closeSync(this.fd);
  }
}
