// One error type for the whole API and the handler that renders it as { error: { code, message, details? } }.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ErrorCode } from '../../protocol/errors';
import { errorText } from '../lib/error-text';

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Response headers the error comes with (e.g. Retry-After on a 429). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const notFound = (code: ErrorCode, message: string) => new ApiError(404, code, message);
export const connectionNotFound = (connectionId: string) =>
  notFound('connection_not_found', `No connection named "${connectionId}".`);

export function errorResponse(c: Context, status: ContentfulStatusCode, code: ErrorCode, message: string, details?: unknown) {
  return c.json({ error: { code, message, ...(details === undefined ? {} : { details }) } }, status);
}

export function renderError(err: Error, c: Context) {
  if (err instanceof ApiError) {
    const res = errorResponse(c, err.status, err.code, err.message, err.details);
    for (const [name, value] of Object.entries(err.headers ?? {})) res.headers.set(name, value);
    return res;
  }
  if (err instanceof HTTPException) {
    // Hono's own validators and middleware throw these (e.g. unparsable JSON bodies).
    if (err.status === 400 && /json/i.test(err.message)) {
      return errorResponse(c, 400, 'invalid_json', 'The request body is not valid JSON.');
    }
    if (err.status === 413) return errorResponse(c, 413, 'payload_too_large', 'The request body is too large.');
    const status = err.status as ContentfulStatusCode;
    return errorResponse(c, status, status >= 500 ? 'internal_error' : 'bad_request', err.message || 'Bad request.');
  }
  // The message only through errorText (a failed query's message carries its parameters: texts, secrets).
  const frames = err?.stack?.split('\n').filter((l) => l.trimStart().startsWith('at ')).slice(0, 8).join('\n');
  console.error(JSON.stringify({ level: 'error', msg: 'unhandled error', path: c.req.path, error: errorText(err), stack: frames }));
  return errorResponse(c, 500, 'internal_error', 'Something went wrong on our side.');
}
