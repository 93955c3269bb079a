// Starts the real stack once for all end-to-end tests: a fresh Postgres database (on the server named by
// DATABASE_URL, else the embedded PostgreSQL), the WebSocket proxy, and the Worker in workerd.
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { createDatabase, dropDatabase } from '../../scripts/lib/database';
import { startEmbeddedPostgres } from '../../scripts/lib/embedded-postgres';
import { freePort } from '../../scripts/lib/ports';
import { startStack } from '../../scripts/lib/stack';
import { startEmulator } from '../../runner/emulator/index';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
    databaseUrl: string;
    runnerToken: string;
    emulatorUrl: string;
    emulatorControlUrl: string;
    emulatorRootPublicKey: string;
    emulatorMediaCaFile: string;
    /** Port on 127.0.0.1 that the Worker may fetch media from (the one private target it allows). */
    mediaServerPort: number;
    /** Port on 127.0.0.1 a test may serve webhook endpoints on (allowed as a private target). */
    webhookSinkPort: number;
    maxMediaBytes: number;
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
};

/** Webhook retries compressed to seconds (three retries, then dead), and the outbox sweep every second. */
export const TEST_WEBHOOK_VARS = {
  WEBHOOK_RETRY_SCHEDULE: '1,1,1',
  WEBHOOK_SWEEP_LATE_SECONDS: '2',
  WEBHOOK_TIMEOUT_MS: '3000',
};

/** Small enough that size limits are cheap to test, large enough for real images and documents. */
export const TEST_MAX_MEDIA_BYTES = 512 * 1024;

const ROOT = path.resolve(import.meta.dirname, '../..');

export default async function setup(project: TestProject) {
  const stops: (() => Promise<void>)[] = [];
  const teardown = async () => {
    for (const stop of stops.reverse()) await stop().catch((e) => console.error('teardown:', e));
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
    const emulator = await startEmulator({ port: 0, mediaCaFile: path.join(dataDir, 'emulator-media-ca.pem') });
    stops.push(() => emulator.close());
    const runnerToken = randomBytes(24).toString('base64url');
    // Media tests serve files from this loopback port; every other private target stays refused.
    const mediaServerPort = await freePort();
    const webhookSinkPort = await freePort();
    const stack = await startStack({
      dataDir,
      port: await freePort(),
      databaseUrl,
      vars: {
        MAX_BODY_BYTES: String(128 * 1024),
        MAX_MEDIA_BYTES: String(TEST_MAX_MEDIA_BYTES),
        ALLOW_PRIVATE_WEBHOOK_TARGETS: `127.0.0.1:${mediaServerPort},127.0.0.1:${webhookSinkPort}`,
        RUNNER_TOKEN: runnerToken,
        // /api/sandbox acts through this emulator, the one the tests' runners talk to.
        SANDBOX_CONTROL_URL: emulator.controlUrl,
        ...TEST_SCHEDULER_VARS,
        ...TEST_WEBHOOK_VARS,
      },
      cronIntervalMs: 1000,
      prebuilt: true,
      log: (line) => {
        if (!quiet || /error|✘/i.test(line)) process.stderr.write(`${line}\n`);
      },
    });
    stops.push(stack.stop);
    project.provide('baseUrl', stack.url);
    project.provide('databaseUrl', databaseUrl);
    project.provide('runnerToken', runnerToken);
    project.provide('emulatorUrl', emulator.url);
    project.provide('emulatorControlUrl', emulator.controlUrl);
    project.provide('emulatorRootPublicKey', emulator.rootPublicKey);
    project.provide('emulatorMediaCaFile', emulator.mediaCaFile!);
    project.provide('mediaServerPort', mediaServerPort);
    project.provide('webhookSinkPort', webhookSinkPort);
    project.provide('maxMediaBytes', TEST_MAX_MEDIA_BYTES);
  } catch (e) {
    await teardown();
    throw e;
  }
  return teardown;
}
