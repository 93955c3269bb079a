// What a runner command's failure means to an API client, for the codes every command shares: the
// connection not linked right now, no runner (or one too old) holding it, no answer in time, a request the
// runner refused. A route maps its command's own codes first (`specific`), and names what anything else
// is (`refused`: WhatsApp did not take it).
import type { CommandOutcome } from '../scheduler/scheduler';
import type { ErrorCode } from '../../protocol/errors';
import { ApiError } from './errors';

type Failure = Extract<CommandOutcome, { ok: false }>['error'];

export function runnerFailure(
  error: Failure,
  connectionId: string,
  opts: { refused: ErrorCode; specific?: (code: string, message: string) => ApiError | undefined; timeout?: string },
): ApiError {
  const { code, message } = error;
  const own = opts.specific?.(code, message);
  if (own) return own;
  switch (code) {
    case 'not_connected':
      return new ApiError(409, 'connection_not_connected', `Connection "${connectionId}" is not connected right now.`);
    case 'runner_outdated':
      return new ApiError(503, 'runner_outdated', `${message} Retry once the runners are upgraded.`);
    case 'no_runner':
    case 'not_holding_lease':
      // The lease is moving (or nobody holds it yet): the next runner takes it within seconds.
      return new ApiError(503, 'runner_unavailable', 'No runner holds this connection right now; retry shortly.');
    case 'timeout':
      return new ApiError(504, 'runner_timeout', opts.timeout ?? 'The runner did not answer in time; retry.');
    case 'bad_command':
      return new ApiError(400, 'bad_request', `The runner refused the request: ${message}`);
    default:
      return new ApiError(502, opts.refused, `WhatsApp did not take it: ${message}`);
  }
}
