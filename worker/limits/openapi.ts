// The request limit in the OpenAPI document: every authenticated /api operation counts against its
// credential (api-limit.ts), so each gets the RateLimit-* headers on its answers and a 429 rate_limited.
import { authenticatedOperations } from '../http/openapi-operations';

const header = (description: string) => ({ description, schema: { type: 'integer', minimum: 0 } });
const RATE_LIMIT_HEADERS = {
  'RateLimit-Limit': header('Requests this credential may make in a burst (API_LIMIT_PER_KEY).'),
  'RateLimit-Remaining': header('Requests left in the burst after this one.'),
  'RateLimit-Reset': header('Seconds until the burst is whole again.'),
};

type Operation = { security?: unknown[]; responses?: Record<string, { description?: string; headers?: Record<string, unknown> }> };

export function withRateLimits<D extends { paths?: object }>(doc: D): D {
  for (const { op } of authenticatedOperations<Operation>(doc)) {
    if (!op.responses) continue;
    for (const [status, response] of Object.entries(op.responses)) {
      if (status.startsWith('2')) response.headers = { ...RATE_LIMIT_HEADERS, ...response.headers };
    }
    const own = op.responses['429']?.description;
    op.responses['429'] = {
      description:
        'Too many requests with this credential (`rate_limited`); wait the `Retry-After` header\'s seconds.' + (own ? ` ${own}` : ''),
      headers: { 'Retry-After': header('Seconds to wait.'), ...RATE_LIMIT_HEADERS },
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    } as never;
  }
  return doc;
}
