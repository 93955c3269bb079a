// One delivery attempt: the URL judged again by the private-target policy (it may have changed, or the
// policy may have), then a signed POST of the JSON body, 10 s at most, redirects not followed. The answer
// is classified for the schedule: delivered (2xx), gone (410: stop), refused (nothing to retry: the URL is
// not allowed), or failed (anything else: retry).
import pkg from '../../package.json';
import { checkWebhookUrl, type PrivateTargetPolicy } from '../lib/webhook-url';
import { signedHeaders } from './signature';

export const USER_AGENT = `Switchboard-Webhooks/${pkg.version}`;
/** How much of an endpoint's answer the log keeps. */
const EXCERPT_BYTES = 1024;

export type AttemptOutcome = {
  kind: 'delivered' | 'gone' | 'refused' | 'failed';
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseExcerpt: string | null;
};

export interface AttemptRequest {
  url: string;
  webhookId: string;
  body: string;
  secrets: string[];
  timeoutMs: number;
  policy: PrivateTargetPolicy;
  fetch?: typeof fetch;
}

/** The first bytes of a response body as text; the rest is not read. */
async function excerptOf(res: Response): Promise<string | null> {
  if (!res.body) return null;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(Math.min(size, EXCERPT_BYTES));
  let offset = 0;
  for (const c of chunks) {
    if (offset >= bytes.length) break;
    bytes.set(c.subarray(0, bytes.length - offset), offset);
    offset += c.byteLength;
  }
  // A multi-byte character cut at the limit becomes U+FFFD rather than an error.
  return new TextDecoder().decode(bytes);
}

export async function attemptDelivery(r: AttemptRequest): Promise<AttemptOutcome> {
  const started = Date.now();
  const verdict = checkWebhookUrl(r.url, r.policy);
  if (!verdict.ok) return { kind: 'refused', statusCode: null, durationMs: 0, error: `URL refused: ${verdict.reason}`, responseExcerpt: null };
  try {
    const res = await (r.fetch ?? fetch)(verdict.url, {
      method: 'POST',
      body: r.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(r.timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        ...(await signedHeaders(r.secrets, r.webhookId, r.body)),
      },
    });
    const responseExcerpt = await excerptOf(res);
    const durationMs = Date.now() - started;
    const base = { statusCode: res.status, durationMs, responseExcerpt };
    if (res.status >= 200 && res.status < 300) return { kind: 'delivered', ...base, error: null };
    if (res.status === 410) return { kind: 'gone', ...base, error: 'the endpoint answered 410 Gone: no more retries' };
    if (res.status >= 300 && res.status < 400) {
      return { kind: 'failed', ...base, error: `redirect to ${res.headers.get('location') ?? '(no location)'} not followed` };
    }
    return { kind: 'failed', ...base, error: `the endpoint answered ${res.status}` };
  } catch (e) {
    const durationMs = Date.now() - started;
    const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
    return {
      kind: 'failed',
      statusCode: null,
      durationMs,
      error: timedOut ? `no answer within ${r.timeoutMs} ms` : `request failed: ${e instanceof Error ? e.message : String(e)}`,
      responseExcerpt: null,
    };
  }
}
