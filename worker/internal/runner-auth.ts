// Runner-facing routes accept only a runner's own credential (`sbr_<runner id>_<secret>`,
// protocol/runner-token.ts), never tenant keys, and no shared token: there is no master key. The token
// names its runner; whether it is valid (unrevoked) is for the Scheduler to say (worker/scheduler/
// credentials.ts explains why there), together with what the runner asks about: each connection it
// claims at an epoch is allowed only if it holds that lease at that epoch.
import { createMiddleware } from 'hono/factory';
import type { Context } from 'hono';
import { hashRunnerToken, runnerIdOfToken } from '../../protocol/runner-token';
import type { AppEnv } from '../http/context';
import { ApiError } from '../http/errors';
import { shardOf } from '../../protocol/shards';
import { schedulerOf, shardsOf } from '../scheduler/client';
import type { ClaimAnswer } from '../scheduler/credentials';

export interface RunnerCaller {
  runnerId: string;
  tokenHash: string;
}

export type RunnerEnv = AppEnv & { Variables: { runner: RunnerCaller } };
export type RunnerContext = Context<RunnerEnv>;

/** Reads the bearer token; a missing or malformed one is refused before anything is looked up. */
export const requireRunner = createMiddleware<RunnerEnv>(async (c, next) => {
  const token = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
  const runnerId = token ? runnerIdOfToken(token) : undefined;
  if (!token || !runnerId) throw new ApiError(401, 'unauthorized', 'A runner token (sbr_<runner id>_<secret>, from `npm run admin -- issue-runner-token`) is required.');
  c.set('runner', { runnerId, tokenHash: await hashRunnerToken(token) });
  return next();
});

/** A runner id in the request (link URL, event batch) must be the one the credential names. */
export function assertSameRunner(c: RunnerContext, claimed: string | undefined) {
  if (claimed !== c.get('runner').runnerId) {
    throw new ApiError(403, 'runner_id_mismatch', `This runner token belongs to runner "${c.get('runner').runnerId}", not to ${JSON.stringify(claimed ?? null)}.`);
  }
}

/**
 * Verifies the token at the Scheduler and judges the claims; an unknown or revoked token is a 401. Each
 * claim is judged by the shard that owns its connection (all at once); a call with no claims asks shard 0.
 */
export async function authorize(c: RunnerContext, claims: { connectionPk: string; epoch: number }[]): Promise<{ credentialId: string; claims: ClaimAnswer[] }> {
  const { runnerId, tokenHash } = c.get('runner');
  const shards = shardsOf(c.env);
  // Which claims (by index) each shard judges; an events batch names many connections, so no copying per claim.
  const byShard = new Map<number, number[]>();
  claims.forEach((claim, i) => {
    const shard = shardOf(claim.connectionPk, shards);
    const indices = byShard.get(shard);
    if (indices) indices.push(i);
    else byShard.set(shard, [i]);
  });
  if (byShard.size === 0) byShard.set(0, []);
  const judged: ClaimAnswer[] = new Array(claims.length);
  let credentialId: string | undefined;
  await Promise.all(
    [...byShard].map(async ([shard, indices]) => {
      const answer = await schedulerOf(c.env, shard).authorizeRunner(runnerId, tokenHash, indices.map((i) => claims[i]!));
      if (!answer.ok) throw new ApiError(401, 'unauthorized', 'Unknown or revoked runner token.');
      credentialId ??= answer.credentialId;
      answer.claims.forEach((claim, j) => (judged[indices[j]!] = claim));
    }),
  );
  return { credentialId: credentialId!, claims: judged };
}

/**
 * The one claim of a route about a single connection (auth state, media): refused unless the runner
 * holds the lease at that epoch. 403 `stale_epoch`: it did, but the lease has moved on (stop writing);
 * 403 `not_lease_holder`: it never held that epoch; 404 `connection_not_found`: no such lease at all.
 */
export async function requireHolder(c: RunnerContext, connectionPk: string, epoch: number): Promise<{ credentialId: string; tenantId: string }> {
  const { credentialId, claims } = await authorize(c, [{ connectionPk, epoch }]);
  const claim = claims[0]!;
  switch (claim.verdict) {
    case 'holder':
      return { credentialId, tenantId: claim.tenantId! };
    case 'former_holder':
      throw new ApiError(403, 'stale_epoch', 'This lease epoch is no longer current; stop writing for this connection.');
    case 'not_holder':
      throw new ApiError(403, 'not_lease_holder', 'This runner does not hold the lease of this connection at this epoch.');
    case 'unknown_connection':
      throw new ApiError(404, 'connection_not_found', 'Unknown connection.');
  }
}
