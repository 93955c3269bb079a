// Runner credentials for end-to-end tests: each runner id gets its own token (issued in the test database
// on first use, as `npm run admin -- issue-runner-token` would), since the control plane has no shared one.
import { randomUUID } from 'node:crypto';
import { issueRunnerCredential, revokeRunnerCredentials, runnerTokens } from '../../scripts/lib/runner-credentials';
import { database } from './api';

/** The token of `runnerId` (issued once per test file, then kept). */
export const runnerToken = runnerTokens(() => database(), 'e2e');

/** Another token for `runnerId` (rotation), besides the one `runnerToken` gives. */
export async function issueToken(runnerId: string, name = `e2e-${randomUUID().slice(0, 6)}`) {
  return issueRunnerCredential(database(), runnerId, { name });
}

export async function revokeToken(credentialId: string) {
  return revokeRunnerCredentials(database(), { ids: [credentialId] });
}
