// Refuses request bodies over a size limit with 413, by Content-Length when it is given, else while
// reading a chunked body. A refused chunked body is drained (up to DRAIN_CAP) rather than abandoned
// half-read: local workerd loses its next request otherwise (seen with wrangler 4.124, where
// cancelling a request body also broke it). Cloudflare's edge caps request bodies itself, so the drain is bounded there too.
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from './context';
import { errorResponse } from './errors';

const DRAIN_CAP = 32 * 1024 * 1024;

export function limitBody(maxBytes: (env: AppEnv['Bindings']) => number) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const max = maxBytes(c.env);
    const tooLarge = () => errorResponse(c, 413, 'payload_too_large', `The request body is larger than ${max} bytes.`);
    const body = c.req.raw.body;
    if (!body) return next();
    const declared = c.req.header('content-length');
    if (declared !== undefined) {
      if (Number(declared) > max) return tooLarge();
      return next();
    }
    // Chunked: read it all (bounded by `max`) and hand the buffered body on.
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > max) {
        for (let drained = size; ; ) {
          if (drained > DRAIN_CAP) {
            await reader.cancel().catch(() => {});
            break;
          }
          const rest = await reader.read();
          if (rest.done) break;
          drained += rest.value.byteLength;
        }
        return tooLarge();
      }
      chunks.push(value);
    }
    const buffered = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      buffered.set(chunk, offset);
      offset += chunk.byteLength;
    }
    c.req.raw = new Request(c.req.raw, { body: buffered });
    return next();
  });
}
