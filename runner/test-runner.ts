// Test support: an in-process runner wired to a fake control plane and the emulator, with short backoffs.
import type { RunningEmulator } from './emulator/index.js';
import { loadConfig } from './config.js';
import type { FakeControlPlane } from './fake-control-plane.js';
import { startRunner, type Runner, type RunnerOverrides } from './runner.js';

/** Starts a runner (extra env on top of the test defaults) and waits until its link is up. */
export const startTestRunner = async (
  cp: FakeControlPlane,
  emu: RunningEmulator,
  id: string,
  env: Record<string, string> = {},
  overrides: RunnerOverrides = {},
): Promise<Runner> => {
  const config = loadConfig({
    CONTROL_PLANE_URL: cp.url,
    RUNNER_TOKEN: cp.tokenFor(id),
    RUNNER_ID: id,
    RUNNER_HTTP_PORT: '0',
    RUNNER_HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: process.env.RUNNER_TEST_LOG ?? 'silent',
    WA_WEBSOCKET_URL: emu.url,
    WA_TRUST_ROOT: emu.rootPublicKey,
    // Unpaced unless a test paces its own: a test's bursts are not what pacing guards.
    SEND_PACE: 'off',
    ...env,
  });
  const runner = await startRunner(config, { linkBackoffBaseMs: 50, outboxRetryBaseMs: 50, ...overrides });
  await cp.until(() => (runner.links.up ? true : undefined), 10_000, `${id} linked`);
  return runner;
};
