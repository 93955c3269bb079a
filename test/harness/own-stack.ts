// A control plane and runners of a test file's own, on the shared test database and emulator: for tests
// that stop and restart the Worker (restore, key rotation), which the shared stack must never do. What is
// started here is stopped by `stopOwn()` (the file's afterAll), newest first.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { startRunner, type RunnerProcess } from '../../scripts/lib/runner-process';
import { startStack, type Stack } from '../../scripts/lib/stack';
import { TEST_LIMIT_VARS, TEST_RUNNER_ENV, TEST_SCHEDULER_VARS } from './global-setup';
import { runnerToken } from './runner-tokens';

const started: (() => Promise<unknown>)[] = [];

/** Stops everything `ownControlPlane` and `ownRunner` started (and whatever else was handed to `alsoStop`). */
export async function stopOwn() {
  for (const stop of started.splice(0).reverse()) await stop().catch(() => {});
}

export const alsoStop = (stop: () => Promise<unknown>) => void started.push(stop);

/** The Worker on `port` with its data in `dataDir` (so a restart finds its Durable Objects and R2 again). */
export async function ownControlPlane(dataDir: string, port: number, vars: Record<string, string> = {}): Promise<Stack> {
  const stack = await startStack({
    dashboard: 'if-missing',
    dataDir,
    port,
    databaseUrl: inject('databaseUrl'),
    // The shared stack's webhook keys: both stacks' crons seal the same rows.
    vars: { WEBHOOK_SECRET_KEYS: inject('webhookSecretKeys'), ...TEST_SCHEDULER_VARS, ...TEST_LIMIT_VARS, ...vars },
    prebuilt: true,
    log: process.env.E2E_VERBOSE ? undefined : () => {},
  });
  started.push(() => stack.stop());
  return stack;
}

/** A runner with its own credential, dialling `url`, against the shared emulator. */
export async function ownRunner(url: string, id: string): Promise<RunnerProcess> {
  const runner = await startRunner({
    controlPlaneUrl: url,
    runnerToken: await runnerToken(id),
    runnerId: id,
    waWebSocketUrl: inject('emulatorUrl'),
    waTrustRoot: inject('emulatorRootPublicKey'),
    env: TEST_RUNNER_ENV,
    log: process.env.E2E_VERBOSE ? undefined : () => {},
  });
  started.push(() => runner.stop(5_000));
  return runner;
}

/** A fresh data directory for an own control plane, removed at `stopOwn()`. */
export async function ownDataDir(label: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `switchboard-${label}-`));
  alsoStop(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The public API of whichever own control plane `url()` names now (tests restart it), as `key`. */
export const apiAt =
  (url: () => string, key: string) =>
  (method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> =>
    fetch(`${url()}${p}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: await r.json() }));
