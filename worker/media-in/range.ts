// HTTP range requests (RFC 9110 §14) for GET /api/media: one byte range per request, which is what
// players and download managers ask for. Several ranges in one header are answered whole (200), as the
// RFC allows; a range that cannot be satisfied is a 416 with `Content-Range: bytes */size`.

export type RangeVerdict =
  | { kind: 'whole' }
  | { kind: 'partial'; offset: number; length: number; contentRange: string }
  | { kind: 'unsatisfiable'; contentRange: string };

/** What to answer for `Range: <header>` on a file of `size` bytes. */
export function parseRange(header: string | null | undefined, size: number): RangeVerdict {
  if (!header) return { kind: 'whole' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  // Another unit, several ranges, or garbage: ignored, the whole file (RFC 9110 §14.2).
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'whole' };
  const unsatisfiable = { kind: 'unsatisfiable', contentRange: `bytes */${size}` } as const;
  let start: number;
  let end: number;
  if (m[1] === '') {
    // A suffix: the last N bytes.
    const n = Number(m[2]);
    if (!Number.isSafeInteger(n) || n === 0 || size === 0) return unsatisfiable;
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return unsatisfiable;
    if (m[2] !== '' && Number(m[2]) < start) return { kind: 'whole' }; // invalid (last < first): ignored
    if (start >= size) return unsatisfiable;
  }
  if (start === 0 && end === size - 1) return { kind: 'whole' };
  return { kind: 'partial', offset: start, length: end - start + 1, contentRange: `bytes ${start}-${end}/${size}` };
}
