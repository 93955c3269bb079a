// A small client of the WhatsApp Web emulator's control API (runner/emulator/README.md, "Control API"),
// for the /api/sandbox routes. Bounded: every call has a timeout and its answer a size limit. What the
// emulator refuses (4xx with `{ error: { message } }`) comes back as an ApiError with its status and
// message; an emulator that cannot be reached, or answers something else, is a 502.
import { z } from 'zod';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ErrorCode } from '../../protocol/errors';
import { readBounded } from '../../protocol/read-bounded';
import { ApiError } from '../http/errors';

/** Most calls answer at once; linking waits for the companion's reply (the emulator's own limit is 20 s). */
export const CONTROL_TIMEOUT_MS = 15_000;
export const LINK_TIMEOUT_MS = 30_000;
/** An inbox after a burst of thousands of messages fits; nothing the sandbox needs is larger. */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export interface ControlOptions {
  timeoutMs?: number;
  maxBytes?: number;
  fetch?: typeof fetch;
}

/** The emulator's error body (its `code` is the HTTP status, so only the message is kept). */
const EmulatorError = z.object({ error: z.object({ message: z.string().min(1) }) });

/** The codes an emulator refusal is given here, by its status. */
function codeFor(status: number): ErrorCode {
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 413) return 'payload_too_large';
  return 'bad_request';
}

export class SandboxControl {
  private readonly base: string;

  constructor(
    base: URL,
    private readonly opts: ControlOptions = {},
  ) {
    this.base = base.toString().replace(/\/+$/, '');
  }

  /** `path` under the control URL (e.g. `/accounts`); the answer is checked against `answer`. */
  async call<S extends z.ZodType>(method: 'GET' | 'POST', path: string, answer: S, body?: unknown, timeoutMs?: number): Promise<z.infer<S>> {
    const doFetch = this.opts.fetch ?? fetch;
    const limitMs = timeoutMs ?? this.opts.timeoutMs ?? CONTROL_TIMEOUT_MS;
    const maxBytes = this.opts.maxBytes ?? MAX_ANSWER_BYTES;
    const signal = AbortSignal.timeout(limitMs);
    let res: Response;
    let bytes: Uint8Array;
    try {
      res = await doFetch(`${this.base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'manual',
        signal,
      });
      bytes = await this.readAnswer(res, maxBytes);
    } catch (e) {
      if (e instanceof ApiError) throw e;
      const why = signal.aborted ? `did not answer within ${limitMs / 1000} s` : `cannot be reached (${(e as Error).message})`;
      throw new ApiError(502, 'sandbox_unreachable', `The sandbox emulator at ${this.base} ${why}.`);
    }
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw this.badAnswer(`answered ${res.status} with a body that is not JSON`);
    }
    if (!res.ok) {
      const refusal = EmulatorError.safeParse(json);
      if (res.status >= 400 && res.status < 500 && refusal.success) {
        throw new ApiError(res.status as ContentfulStatusCode, codeFor(res.status), refusal.data.error.message);
      }
      throw this.badAnswer(`answered ${res.status}`);
    }
    const parsed = answer.safeParse(json);
    if (!parsed.success) throw this.badAnswer(`answered ${method} ${path} with an unexpected body`);
    return parsed.data;
  }

  /** The whole body, unless it is larger than `maxBytes`. */
  private async readAnswer(res: Response, maxBytes: number): Promise<Uint8Array> {
    if (!res.body) return new Uint8Array(0);
    if (Number(res.headers.get('content-length') ?? NaN) > maxBytes) {
      await res.body.cancel();
      throw this.badAnswer(`answered more than ${maxBytes} bytes`);
    }
    const read = await readBounded(res.body, maxBytes);
    if ('over' in read) {
      await res.body.cancel().catch(() => {});
      throw this.badAnswer(`answered more than ${maxBytes} bytes`);
    }
    return read.bytes;
  }

  private badAnswer(what: string) {
    return new ApiError(502, 'sandbox_bad_response', `The sandbox emulator ${what}.`);
  }
}

/** The emulator's control API when this deployment has one (SANDBOX_CONTROL_URL); null in production. */
export function sandboxControl(env: { SANDBOX_CONTROL_URL?: string }, opts?: ControlOptions): SandboxControl | null {
  const raw = env.SANDBOX_CONTROL_URL?.trim();
  if (!raw) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ApiError(502, 'sandbox_unreachable', 'SANDBOX_CONTROL_URL is not a URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ApiError(502, 'sandbox_unreachable', 'SANDBOX_CONTROL_URL must be http(s).');
  return new SandboxControl(url, opts);
}
