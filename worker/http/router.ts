// Factory for the API's sub-routers: every one renders validation failures the same way.
import { OpenAPIHono, type z } from '@hono/zod-openapi';
import { ErrorBody } from '../../protocol/errors';
import type { AppEnv } from './context';
import { errorResponse } from './errors';

export function newRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const issues = result.error.issues.map((i) => ({
        path: i.path.map(String).join('.') || `(${result.target})`,
        message: i.message,
      }));
      const first = issues[0];
      const message = first ? `Invalid ${result.target}: ${first.path}: ${first.message}` : `Invalid ${result.target}.`;
      return errorResponse(c, 400, 'validation_failed', message, { target: result.target, issues });
    },
  });
}

/** Error responses every authenticated route can give, for the OpenAPI document. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, errorContent(describeStatus(s))])) as Record<
    number,
    ReturnType<typeof errorContent>
  >;
}

/** One error response with its own description, for a status whose usual one does not fit the route. */
export function errorContent(description: string) {
  return { description, content: { 'application/json': { schema: ErrorBody } } };
}

function describeStatus(status: number): string {
  switch (status) {
    case 400:
      return 'Invalid input (see error.code and error.details).';
    case 401:
      return 'Missing, invalid or expired credentials (an expired API key: `api_key_expired`).';
    case 403:
      return 'Refused: the API key lacks the scope the route needs (`insufficient_scope`), or a cookie-authenticated write came from another site (`csrf_rejected`).';
    case 404:
      return 'Not found (or owned by another tenant).';
    case 409:
      return 'Conflict with the current state.';
    case 413:
      return 'Body (or the media file) too large.';
    case 415:
      return 'Body must be application/json.';
    case 422:
      return 'The media URL could not be fetched (error.details has its status).';
    case 429:
      return 'Too many requests: wait the Retry-After header\'s seconds.';
    case 502:
      return 'WhatsApp refused the message.';
    case 503:
      return 'No runner can serve the connection right now.';
    case 504:
      return 'The runner did not answer in time.';
    default:
      return 'Error.';
  }
}

/** A JSON response for the OpenAPI document. */
export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

/** A required JSON request body (a missing or non-JSON body is refused, not treated as empty). */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { body: { required: true, content: { 'application/json': { schema } } } };
}
