// One runner, wired: outbox → sessions → link, plus the HTTP probe. main.ts starts one from the
// environment; tests start several in one process.
import pino, { type Logger } from 'pino';
import { IncomingMedia } from './media-in.js';
import { mediaTrustOptions, trustEmulatorRoot } from './emulator/trust.js';
import { assertBaileysPatched } from './baileys-patch.js';
import { assertHardened, harden } from './noise-trust.js';
import type { RunnerConfig } from './config.js';
import { startHttp } from './http.js';
import { ShardLinks } from './shard-links.js';
import { downloadMedia } from './media-source.js';
import { createMetrics, type RunnerMetrics } from './metrics.js';
import { Outbox } from './outbox.js';
import { OutboxJournal } from './outbox-journal.js';
import { OutboxSpill } from './outbox-spill.js';
import { within } from './backoff.js';
import { Sessions, type SessionsOptions } from './sessions.js';

export type RunnerOverrides = {
  logger?: Logger;
  metrics?: RunnerMetrics;
  whatsapp?: SessionsOptions['whatsapp'];
  linkBackoffBaseMs?: number;
  outboxRetryBaseMs?: number;
  stopFlushTimeoutMs?: number;
};

export type Runner = Awaited<ReturnType<typeof startRunner>>;

export const startRunner = async (config: RunnerConfig, overrides: RunnerOverrides = {}) => {
  const logger = overrides.logger ?? pino({ level: config.logLevel, base: { runner_id: config.runnerId } });
  // Baileys as shipped accepts any server's certificates: make its checks real, and prove it, before any socket.
  harden();
  assertHardened();
  // Delivery receipts wait for storage only with our Baileys patch in place (npm install applies it).
  assertBaileysPatched();
  // Only a runner configured for another server (the emulator) swaps the certificate root; never by default.
  if (config.waTrustRoot) {
    trustEmulatorRoot(config.waTrustRoot);
    logger.warn({ wa_websocket_url: config.waWebSocketUrl ?? null }, 'WA_TRUST_ROOT is set: trusting a WhatsApp server other than WhatsApp itself (emulator/sandbox only)');
  }
  // Likewise its media CA, for Baileys' media uploads and downloads only (TLS verification stays on).
  const mediaTrust = config.waMediaCa ? mediaTrustOptions(config.waMediaCa) : undefined;
  const metrics = overrides.metrics ?? createMetrics();

  let sessions: Sessions | undefined;
  const journaled = config.outboxDir ? OutboxJournal.open(config.outboxDir, { syncMs: config.outboxFsyncMs }) : undefined;
  const outbox = new Outbox({
    journal: journaled?.journal,
    spill: config.outboxDir ? new OutboxSpill(config.outboxDir, { maxBytes: config.outboxSpillMaxBytes, syncMs: config.outboxFsyncMs }) : undefined,
    controlPlaneUrl: config.controlPlaneUrl,
    token: config.runnerToken,
    runnerId: config.runnerId,
    maxEvents: config.outboxMaxEvents,
    maxBytes: config.outboxMaxBytes,
    lingerMs: config.outboxLingerMs,
    retryBaseMs: overrides.outboxRetryBaseMs,
    metrics,
    logger: logger.child({ layer: 'outbox' }),
    onRejected: (pk, epoch) => sessions?.leaseLost(pk, epoch),
  });

  let links: ShardLinks | undefined;
  sessions = new Sessions({
    controlPlaneUrl: config.controlPlaneUrl,
    token: config.runnerToken,
    runnerId: config.runnerId,
    outbox,
    send: frame => void links?.send(frame),
    logger,
    metrics,
    waWebSocketUrl: config.waWebSocketUrl,
    fetchMedia: (url, epoch) =>
      downloadMedia(url, {
        controlPlaneUrl: config.controlPlaneUrl,
        token: config.runnerToken,
        epoch,
        maxBytes: config.maxMediaBytes,
        timeoutMs: config.mediaDownloadTimeoutMs,
      }),
    mediaTrust,
    incomingMedia: new IncomingMedia({
      controlPlaneUrl: config.controlPlaneUrl,
      token: config.runnerToken,
      timeoutMs: config.mediaDownloadTimeoutMs,
      fallbackMaxBytes: config.maxMediaBytes,
      fetchOptions: mediaTrust?.options,
      logger: logger.child({ component: 'media-in' }),
    }),
    maxConcurrentLogins: config.maxConcurrentLogins,
    numberLookup: config.numberLookup,
    authFlushIntervalMs: config.authFlushIntervalMs,
    authSnapshotEvery: config.authSnapshotEvery,
    stopFlushTimeoutMs: overrides.stopFlushTimeoutMs,
    whatsapp: { deferReceipts: config.deferReceipts, sendPacing: config.sendPacing, ...overrides.whatsapp },
  });
  const s = sessions;

  links = new ShardLinks({
    url: config.linkUrl,
    token: config.runnerToken,
    runnerId: config.runnerId,
    capacity: config.capacity,
    logger: logger.child({ layer: 'link' }),
    metrics,
    held: () => s.held(),
    sessions: () => s.size,
    backoffBaseMs: overrides.linkBackoffBaseMs,
    onUp: link => {
      // A link that came back during a drain must hear about it again.
      if (s.isDraining) link.send({ type: 'draining' });
      // And open sessions are reported connected again (the Scheduler announced them unreachable meanwhile).
      s.reannounce();
    },
    onFrame: (frame, link) => {
      switch (frame.type) {
        case 'lease.grant':
          if (s.isDraining) return; // the control plane knows we are draining; it will place it elsewhere
          return s.grant(frame);
        case 'lease.revoke':
          return void s.revoke(frame);
        case 'command': {
          const arrived = performance.now();
          return void s.command(frame).then(reply => {
            const seconds = (performance.now() - arrived) / 1000;
            metrics.commandSeconds.observe({ command: frame.command.name, outcome: reply.ok ? 'ok' : (reply.error?.code ?? 'internal') }, seconds);
            // Its own share of the round trip, which the control plane shows beside the whole (Server-Timing).
            link.send({ ...reply, elapsed_ms: Math.round(seconds * 100_000) / 100 });
          });
        }
        case 'welcome':
          return;
      }
    },
  });

  const http = await startHttp({ ready: () => !!links?.up && !s.isDraining, metrics }, config.httpPort, config.httpHost);
  if (journaled?.pending.length || outbox.depth) {
    // Events a previous process of this runner received but never handed over. Posted before the link
    // says hello: until then the Scheduler keeps the old leases, so their epochs are still current.
    logger.warn({ events: outbox.depth + (journaled?.pending.length ?? 0) }, 'outbox: replaying events journaled by a previous process');
    outbox.replay(journaled?.pending ?? []);
    if (!(await within(outbox.flush().then(() => true), config.outboxReplayWaitMs, false))) {
      logger.warn({ waiting: outbox.depth }, 'outbox: replay not accepted yet; connecting anyway (it keeps retrying)');
    }
  }
  links.start();
  logger.info({ runner_id: config.runnerId, http_port: http.port, capacity: config.capacity }, 'runner started');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await s.stopAll();
      await links?.close();
      outbox.close();
      journaled?.journal.close();
      await http.close();
    })());

  return {
    config,
    logger,
    metrics,
    outbox,
    sessions: s,
    links,
    httpPort: http.port,
    /** SIGTERM: hand the leases back one by one (bounded by DRAIN_TIMEOUT_MS), flush, close. */
    drain: async (deadlineMs = config.drainTimeoutMs) => {
      await s.drain(deadlineMs);
      await close();
    },
    /** Stops everything (flushing each session's auth state and events, bounded). */
    close,
  };
};
