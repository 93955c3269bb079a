// Per-tenant quotas and the answers they give. The counts are taken inside the statements that create
// what they count (data/connections.ts), with the tenant's override from tenant_limits, so a quota costs
// no round trip of its own. Concurrent requests may overshoot a quota by the few that raced; never more.
import { sql, type SQL } from 'drizzle-orm';
import { tenantLimits } from '../../drizzle/schema';
import { ApiError } from '../http/errors';

type Limit = 'max_connections' | 'max_unlinked_sessions' | 'sends_per_minute';

/** The tenant's override of `limit`, else `fallback` (the Worker var), as an SQL expression. */
export const tenantLimit = (tenantId: SQL | string, limit: Limit, fallback: number): SQL =>
  sql`coalesce((select ${sql.identifier(limit)} from ${tenantLimits} where tenant_id = ${tenantId}), ${fallback})`;

export const connectionQuotaExceeded = (max: number) =>
  new ApiError(
    403,
    'connection_quota_exceeded',
    `This account may have at most ${max} connections; delete one you no longer use, or ask for a higher quota.`,
    { limit: max },
  );

export const unlinkedSessionQuotaExceeded = (max: number) =>
  new ApiError(
    429,
    'unlinked_session_quota_exceeded',
    `At most ${max} connections may wait to be linked (QR or pairing code) at once; link or delete one of them, ` +
      'or wait until an unanswered one stops (10 minutes after its last QR or pairing-code request).',
    { limit: max },
  );

export const sendQuotaExceeded = (perMinute: number, retryAfterSeconds: number) =>
  new ApiError(
    429,
    'send_quota_exceeded',
    `This account may send ${perMinute} messages a minute over all its connections; try again in ${retryAfterSeconds} s (with the same client_message_id).`,
    { limit: perMinute },
    { 'retry-after': String(retryAfterSeconds) },
  );
