// Refuses request bodies over a size limit with 413, by Content-Length when it is given, else while
// reading a chunked body. Every request body is read to its end (a refused one up to DRAIN_CAP) before
// the response: local workerd loses the next request on the connection when a body is left unread
// (seen with wrangler 4.124, for refused bodies and for requests refused before their body was parsed,
// e.g. a 401). Cloudflare's edge caps request bodies itself, so the drain is bounded there too.
import type { Context } from 'hono';
import { readBounded } from '../../protocol/read-bounded';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from './context';
import { errorResponse } from './errors';

const DRAIN_CAP = 32 * 1024 * 1024;

async function drain(stream: ReadableStream<Uint8Array>, alreadyRead = 0): Promise<void> {
  const reader = stream.getReader();
  for (let read = alreadyRead; ; ) {
    if (read > DRAIN_CAP) {
      await reader.cancel().catch(() => {});
      return;
    }
    const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
    if (chunk.done) return;
    read += chunk.value.byteLength;
  }
}

/** `maxBytes` is asked per request, so one route may allow more than the rest (send-message's base64 media). */
export function limitBody(maxBytes: (c: Context<AppEnv>) => number) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const max = maxBytes(c);
    const tooLarge = () => errorResponse(c, 413, 'payload_too_large', `The request body is larger than ${max} bytes.`);
    const original = c.req.raw;
    const body = original.body;
    if (!body) return next();
    const declared = c.req.header('content-length');
    if (declared !== undefined) {
      if (Number(declared) > max) {
        await drain(body);
        return tooLarge();
      }
      try {
        return await next();
      } finally {
        // Re-read `body`: a clone() made downstream swaps in a tee branch and locks the old stream.
        const rest = original.body;
        if (rest && !original.bodyUsed && !rest.locked) await drain(rest);
      }
    }
    // Chunked: read it all (bounded by `max`) and hand the buffered body on.
    const read = await readBounded(body, max);
    if ('over' in read) {
      await drain(body, read.over);
      return tooLarge();
    }
    c.req.raw = new Request(original, { body: read.bytes });
    return next();
  });
}
