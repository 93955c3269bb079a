// The one error body every 4xx/5xx response of the API carries.
import { z } from 'zod';

export const errorCodes = [
  'bad_request',
  'invalid_json',
  'validation_failed',
  'unsupported_media_type',
  'unauthorized',
  'invalid_api_key',
  'invalid_credentials',
  'forbidden',
  'csrf_rejected',
  'not_found',
  'connection_not_found',
  'api_key_not_found',
  'method_not_allowed',
  'connection_exists',
  'connection_not_connected',
  'conflict',
  'idempotency_key_reused',
  'payload_too_large',
  'invalid_webhook_url',
  'webhook_not_configured',
  'webhook_log_not_found',
  'upgrade_required',
  'invalid_ticket',
  'unknown_session',
  'invalid_recipient',
  'runner_unavailable',
  'runner_timeout',
  'stale_epoch',
  'send_failed',
  'invalid_media_url',
  'media_unavailable',
  'media_too_large',
  'pairing_unavailable',
  'sandbox_disabled',
  'sandbox_unreachable',
  'sandbox_bad_response',
  'rate_limited',
  'internal_error',
  'server_misconfigured',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'Stable, machine-readable error code.', example: 'connection_not_found' }),
      message: z.string().meta({ description: 'Human-readable explanation.', example: 'No connection named "user123".' }),
      details: z.unknown().optional().meta({ description: 'Extra context, e.g. the fields that failed validation.' }),
    }),
  })
  .meta({ id: 'Error' });
export type ErrorBody = z.infer<typeof ErrorBody>;
