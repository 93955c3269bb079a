// Splits a child process's output streams into lines for a logger (dev stack, tests, benchmarks).
import type { Readable } from 'node:stream';

export function forEachLine(streams: (Readable | null | undefined)[], onLine: (line: string) => void): void {
  for (const stream of streams) {
    let buf = '';
    stream?.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trimEnd();
        buf = buf.slice(nl + 1);
        if (line) onLine(line);
      }
    });
  }
}
