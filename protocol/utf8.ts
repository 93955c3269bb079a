// Sizes as the limits that matter count them: in UTF-8 bytes, not UTF-16 code units (`.length`). A CJK
// character is one code unit and three bytes; an emoji two code units and four bytes.
const encoder = new TextEncoder();

export const utf8Bytes = (s: string): number => encoder.encode(s).byteLength;

/** The JSON text of `value`, measured in UTF-8 bytes. */
export const jsonBytes = (value: unknown): number => utf8Bytes(JSON.stringify(value) ?? '');

/** `s` cut to at most `maxBytes` of UTF-8, never inside a character (nor between a surrogate pair's halves). */
export function truncateUtf8(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes || utf8Bytes(s) <= maxBytes) return s;
  const { read } = encoder.encodeInto(s, new Uint8Array(maxBytes));
  return s.slice(0, read);
}
