// Starts the real stack once for all end-to-end tests: a fresh Postgres database (on the server named by
// DATABASE_URL, else the embedded PostgreSQL), the WebSocket proxy, and the Worker in workerd.
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import type { TestProject } from 'vitest/node';
import { createDatabase, dropDatabase } from '../../scripts/lib/database';
import { startEmbeddedPostgres } from '../../scripts/lib/embedded-postgres';
import { freePort } from '../../scripts/lib/ports';
import { startStack } from '../../scripts/lib/stack';
import { startEmulator } from '../../runner/emulator/index';
import { startSecretWatch } from './secret-watch';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
    databaseUrl: string;
    emulatorUrl: string;
    emulatorControlUrl: string;
    emulatorRootPublicKey: string;
    emulatorMediaCaFile: string;
    /** Port on 127.0.0.1 that the Worker may fetch media from (the one private target it allows). */
    mediaServerPort: number;
    /** Port on 127.0.0.1 a test may serve webhook endpoints on (allowed as a private target). */
    webhookSinkPort: number;
    maxMediaBytes: number;
    /** Where every process of the run logs, and the runners keep their outbox journals (scanned for secrets). */
    logDir: string;
    /**
     * The webhook secret keyring of the shared stack. A test that starts a stack of its own on the same
     * database passes it on: the stacks' crons seal each other's rows, so they must hold the same keys.
     */
    webhookSecretKeys: string;
    mediaLinkKey: string;
  }
}

/** Scheduler timings shortened so that failover and drain happen within a test's patience. */
export const TEST_SCHEDULER_VARS = {
  SCHEDULER_GRACE_MS: '2000',
  SCHEDULER_RECONCILE_MS: '1000',
  SCHEDULER_REVOKE_TIMEOUT_MS: '10000',
  RUNNER_HEARTBEAT_MS: '1000',
  SEND_TIMEOUT_MS: '4000',
  MEDIA_SEND_TIMEOUT_MS: '15000',
  // TEST_SCHEDULER_SHARDS=2 runs the suite against a sharded Scheduler. Every test with real runners passes
  // so; three protocol-level tests assume one Scheduler instance and fail by design there (a drain hands
  // off one connection at a time per shard, not overall; placement balances per shard, so a new connection
  // need not go to the newest protocol runner).
  ...(process.env.TEST_SCHEDULER_SHARDS ? { SCHEDULER_SHARDS: process.env.TEST_SCHEDULER_SHARDS } : {}),
};

/** Webhook retries compressed to seconds (three retries, then dead), and the outbox sweep every second. */
export const TEST_WEBHOOK_VARS = {
  WEBHOOK_RETRY_SCHEDULE: '1,1,1',
  WEBHOOK_SWEEP_LATE_SECONDS: '2',
  WEBHOOK_TIMEOUT_MS: '3000',
};

/**
 * Abuse limits out of the way (the defaults would count the suite, not guard it): a test of a limit sets a
 * small one for its own tenant (tenant_limits), runner (SEND_PACE) or Worker (test/api/abuse-limits.test.ts).
 */
export const TEST_LIMIT_VARS = {
  API_LIMIT_PER_KEY: '1000000/60',
  TENANT_MAX_CONNECTIONS: '100000',
  TENANT_MAX_UNLINKED_SESSIONS: '100000',
  TENANT_SENDS_PER_MINUTE: '1000000',
};

/** Runners of the tests send unpaced unless a test paces its own. */
export const TEST_RUNNER_ENV = { SEND_PACE: 'off' };

/** Small enough that size limits are cheap to test, large enough for real images and documents. */
export const TEST_MAX_MEDIA_BYTES = 512 * 1024;

const ROOT = path.resolve(import.meta.dirname, '../..');

export default async function setup(project: TestProject) {
  const stops: (() => Promise<void>)[] = [];
  let watch: ReturnType<typeof startSecretWatch> | undefined;
  const teardown = async () => {
    for (const stop of stops.reverse()) await stop().catch((e) => console.error('teardown:', e));
    // Once everything has stopped and written its last line: a secret in any of it fails the run.
    const leaks = watch?.finish();
    if (leaks) throw new Error(`secrets in the test run's logs or outbox journals (see test-results/secret-scan.txt):\n${leaks}`);
  };
  // Whatever started before a failure is stopped again: an orphaned Postgres would hold its data directory.
  try {
    let serverUrl = process.env.DATABASE_URL;
    if (!serverUrl) {
      const pg = await startEmbeddedPostgres(path.join(ROOT, '.data/test-postgres'), await freePort());
      stops.push(pg.stop);
      serverUrl = pg.url;
    }
    const dbName = `sb_test_${Date.now()}_${process.pid}`;
    const databaseUrl = await createDatabase(serverUrl, dbName);
    stops.push(() => dropDatabase(serverUrl!, dbName));

    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchboard-e2e-'));
    stops.push(() => rm(dataDir, { recursive: true, force: true }));
    const quiet = !process.env.E2E_VERBOSE;
    // Every line every process of the run writes, kept for the secret scan at the end (and for reading
    // after a failure): test-results/e2e-logs/{worker,runner-<id>}.log, journals under outbox/.
    const logDir = path.join(ROOT, 'test-results/e2e-logs');
    rmSync(logDir, { recursive: true, force: true });
    mkdirSync(logDir, { recursive: true });
    const workerLog = path.join(logDir, 'worker.log');
    const emulator = await startEmulator({ port: 0, mediaCaFile: path.join(dataDir, 'emulator-media-ca.pem') });
    stops.push(() => emulator.close());
    // Media tests serve files from this loopback port; every other private target stays refused.
    const mediaServerPort = await freePort();
    const webhookSinkPort = await freePort();
    const webhookSecretKeys = `e2e:${randomBytes(32).toString('base64')}`;
    // Known to the tests, so they can sign a link that has expired (worker/media-in/links.ts).
    const mediaLinkKey = randomBytes(32).toString('base64url');
    const stack = await startStack({
      dataDir,
      port: await freePort(),
      databaseUrl,
      vars: {
        MAX_BODY_BYTES: String(128 * 1024),
        MAX_MEDIA_BYTES: String(TEST_MAX_MEDIA_BYTES),
        // Each allowance opens only its own use: the media server is no webhook target, the sink no media source.
        ALLOW_PRIVATE_MEDIA_SOURCES: `127.0.0.1:${mediaServerPort}`,
        ALLOW_PRIVATE_WEBHOOK_TARGETS: `127.0.0.1:${webhookSinkPort}`,
        WEBHOOK_SECRET_KEYS: webhookSecretKeys,
        MEDIA_LINK_KEY: mediaLinkKey,
        // /api/sandbox acts through this emulator, the one the tests' runners talk to.
        SANDBOX_CONTROL_URL: emulator.controlUrl,
        ...TEST_SCHEDULER_VARS,
        ...TEST_WEBHOOK_VARS,
        ...TEST_LIMIT_VARS,
      },
      cronIntervalMs: 1000,
      prebuilt: true,
      log: (line) => {
        appendFileSync(workerLog, `${line}\n`);
        if (!quiet || /error|✘/i.test(line)) process.stderr.write(`${line}\n`);
      },
    });
    stops.push(stack.stop);
    watch = startSecretWatch(logDir, new Map(Object.entries(stack.secrets)));
    project.provide('baseUrl', stack.url);
    project.provide('databaseUrl', databaseUrl);
    project.provide('emulatorUrl', emulator.url);
    project.provide('emulatorControlUrl', emulator.controlUrl);
    project.provide('emulatorRootPublicKey', emulator.rootPublicKey);
    project.provide('emulatorMediaCaFile', emulator.mediaCaFile!);
    project.provide('mediaServerPort', mediaServerPort);
    project.provide('webhookSinkPort', webhookSinkPort);
    project.provide('maxMediaBytes', TEST_MAX_MEDIA_BYTES);
    project.provide('logDir', logDir);
    project.provide('webhookSecretKeys', webhookSecretKeys);
    project.provide('mediaLinkKey', mediaLinkKey);
  } catch (e) {
    await teardown();
    throw e;
  }
  return teardown;
}
