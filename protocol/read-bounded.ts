// Reads a byte stream to its end into one array, unless it is larger than a limit: then it stops at the
// first chunk past it, releases the stream and says how much it read, so the caller decides what becomes
// of the rest (cancel a download, drain a request body the client is still sending).

export type BoundedRead = { bytes: Uint8Array } | { over: number };

export async function readBounded(stream: ReadableStream<Uint8Array>, maxBytes: number): Promise<BoundedRead> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      reader.releaseLock();
      return { over: size };
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { bytes };
}
