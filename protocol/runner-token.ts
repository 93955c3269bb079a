// Runner credentials: `sbr_<runner id>_<secret>`, one runner's own token, issued by the admin CLI
// (`npm run admin -- issue-runner-token --runner ID`). The runner id is part of the token, so the control
// plane finds the credential by runner id (no scan over all hashes) and a runner can only ever speak as
// the runner its token names. Only the SHA-256 of the whole token is stored; it is compared in constant time.
//
// The secret is hex, so the last `_` always separates it from the runner id (which may contain `_`).

/** What a runner id may be (RUNNER_ID, the link's `runner_id`, every event batch's `runner_id`). */
export const RUNNER_ID_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;
export const RUNNER_TOKEN_PREFIX = 'sbr_';
const SECRET_BYTES = 32;
const SECRET_PATTERN = new RegExp(`^[0-9a-f]{${SECRET_BYTES * 2}}$`);

/** The runner id a well-formed token names; undefined for anything else (no lookup is worth doing then). */
export function runnerIdOfToken(token: string): string | undefined {
  if (!token.startsWith(RUNNER_TOKEN_PREFIX)) return undefined;
  const cut = token.lastIndexOf('_');
  if (cut <= RUNNER_TOKEN_PREFIX.length - 1) return undefined;
  const runnerId = token.slice(RUNNER_TOKEN_PREFIX.length, cut);
  const secret = token.slice(cut + 1);
  return RUNNER_ID_PATTERN.test(runnerId) && SECRET_PATTERN.test(secret) ? runnerId : undefined;
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** SHA-256 of the whole token, hex: what Postgres and the Scheduler keep. */
export async function hashRunnerToken(token: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token))));
}

/** A fresh token for `runnerId`, its hash, and a short hint (the secret's first characters) for listings. */
export async function newRunnerToken(runnerId: string): Promise<{ token: string; hash: string; hint: string }> {
  if (!RUNNER_ID_PATTERN.test(runnerId)) throw new Error(`runner id must match ${RUNNER_ID_PATTERN} (got ${JSON.stringify(runnerId)})`);
  const secret = hex(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
  const token = `${RUNNER_TOKEN_PREFIX}${runnerId}_${secret}`;
  return { token, hash: await hashRunnerToken(token), hint: `${RUNNER_TOKEN_PREFIX}${runnerId}_${secret.slice(0, 6)}…` };
}
