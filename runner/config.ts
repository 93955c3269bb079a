// The runner's configuration, read once from the environment and validated, so a misconfigured
// runner fails at start with a message naming the variable instead of misbehaving later.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parsePace, type PacingRule } from './send-pacing.js';
import { RUNNER_ID_PATTERN, runnerIdOfToken } from '../protocol/runner-token.js';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

const Env = z.object({
  CONTROL_PLANE_URL: z
    .string()
    .url()
    .refine(u => /^https?:$/.test(new URL(u).protocol), 'must be an http(s) URL'),
  /** This runner's own credential, `sbr_<runner id>_<secret>` (`npm run admin -- issue-runner-token --runner ID`). */
  RUNNER_TOKEN: z
    .string()
    .refine(t => runnerIdOfToken(t) !== undefined, 'must be a runner credential, sbr_<runner id>_<secret>: issue one with `npm run admin -- issue-runner-token --runner ID`'),
  /** Optional: the runner id is the one its token names; if given, it must be that one. */
  RUNNER_ID: z.string().regex(RUNNER_ID_PATTERN).optional(),
  RUNNER_CAPACITY: int(200, 1),
  RUNNER_HTTP_PORT: int(8080).pipe(z.number().max(65535)),
  RUNNER_HTTP_HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  WA_WEBSOCKET_URL: z.string().url().optional(),
  WA_TRUST_ROOT: z
    .string()
    .refine(s => Buffer.from(s, 'base64').length === 32, 'must be a base64 32-byte Curve25519 public key')
    .optional(),
  /** PEM file of a CA that Baileys' media uploads/downloads (only) trust besides the default roots: the emulator's. */
  WA_MEDIA_CA: z.string().optional(),
  MAX_MEDIA_BYTES: int(64 * 1024 * 1024, 1),
  MEDIA_DOWNLOAD_TIMEOUT_MS: int(60_000, 100),
  MAX_CONCURRENT_LOGINS: int(8, 1),
  AUTH_FLUSH_INTERVAL_MS: int(1000, 10),
  AUTH_SNAPSHOT_EVERY: int(50, 1),
  OUTBOX_MAX_EVENTS: int(100_000, 1000),
  /** The outbox's bound in bytes (events' JSON, UTF-8); a warning is logged at half of either bound. */
  OUTBOX_MAX_BYTES: int(256 * 1024 * 1024, 1024 * 1024),
  /**
   * Ask WhatsApp which account a number reaches before sending to it (refuses numbers without WhatsApp,
   * follows numbers registered under another form). "false" sends to numbers as given.
   */
  NUMBER_LOOKUP: z.enum(['true', 'false']).default('true'),
  /**
   * Send a received message's delivery receipt only once the control plane has stored it, so WhatsApp
   * redelivers what a dying runner never handed over. "false" receipts at once (as Baileys does): faster
   * ticks for the sender, but a runner's death can lose what it had received (benchmarks compare both).
   */
  DEFER_RECEIPTS: z.enum(['true', 'false']).default('true'),
  /** How long the outbox holds a POST open for more events (ms; 0 posts on the next tick). */
  OUTBOX_LINGER_MS: int(20, 0),
  /** Directory for the outbox journal (a volume that outlives the process); unset: memory only. */
  OUTBOX_DIR: z.string().optional(),
  /**
   * With OUTBOX_DIR: what the outbox may keep on disk once memory (OUTBOX_MAX_BYTES) is full, in bytes. Only
   * past it are the oldest events evicted.
   */
  OUTBOX_SPILL_MAX_BYTES: int(4 * 1024 * 1024 * 1024, 1024 * 1024),
  /** How soon journal appends reach the disk itself (fdatasync), in ms; 0: on every append. Bounds a machine crash's loss. */
  OUTBOX_FSYNC_MS: int(100, 0),
  /** How long a restarted runner waits for its replayed journal to be accepted before it dials the control plane. */
  OUTBOX_REPLAY_WAIT_MS: int(10_000, 0),
  DRAIN_TIMEOUT_MS: int(60_000, 1000),
  /**
   * Send pacing per connection (send-pacing.ts), to protect the WhatsApp number: sustained rate as
   * count/seconds ("off": none), the burst allowed at once, random jitter added to each paced send, and the
   * longest a send may wait in the queue (also never past the control plane's own send timeout).
   */
  SEND_PACE: z.string().default('20/60').refine(v => parsePace(v) !== null, 'must be count/seconds (e.g. 20/60) or off'),
  SEND_BURST: int(5, 1),
  SEND_JITTER_MS: int(2_000, 0),
  SEND_MAX_WAIT_MS: int(15_000, 0),
}).superRefine((e, ctx) => {
  // Another server is trusted only by explicit choice: its root key, whose chains are then checked as strictly.
  const named = runnerIdOfToken(e.RUNNER_TOKEN);
  if (e.RUNNER_ID !== undefined && named !== undefined && e.RUNNER_ID !== named) {
    ctx.addIssue({ code: 'custom', path: ['RUNNER_ID'], message: `is ${e.RUNNER_ID}, but RUNNER_TOKEN is runner ${named}'s credential (a runner can only run as the runner its token names)` });
  }
  if (e.WA_WEBSOCKET_URL && !isWhatsAppItself(e.WA_WEBSOCKET_URL) && !e.WA_TRUST_ROOT) {
    ctx.addIssue({ code: 'custom', path: ['WA_WEBSOCKET_URL'], message: 'a server other than WhatsApp (wss://web.whatsapp.com) needs WA_TRUST_ROOT, its certificate root key' });
  }
});

/** WhatsApp's own WhatsApp Web endpoint (Baileys' default). */
const isWhatsAppItself = (url: string): boolean => {
  const u = new URL(url);
  return u.protocol === 'wss:' && u.hostname === 'web.whatsapp.com';
};

export type RunnerConfig = {
  controlPlaneUrl: string;
  /** ws(s)://…/internal/runners/connect?runner_id=… */
  linkUrl: string;
  runnerToken: string;
  runnerId: string;
  capacity: number;
  httpPort: number;
  httpHost: string;
  logLevel: z.infer<typeof Env>['LOG_LEVEL'];
  waWebSocketUrl?: string;
  waTrustRoot?: string;
  /** The PEM read from WA_MEDIA_CA. */
  waMediaCa?: string;
  maxMediaBytes: number;
  mediaDownloadTimeoutMs: number;
  maxConcurrentLogins: number;
  authFlushIntervalMs: number;
  authSnapshotEvery: number;
  outboxMaxEvents: number;
  outboxMaxBytes: number;
  numberLookup: boolean;
  deferReceipts: boolean;
  outboxLingerMs: number;
  outboxDir?: string;
  outboxSpillMaxBytes: number;
  outboxFsyncMs: number;
  outboxReplayWaitMs: number;
  drainTimeoutMs: number;
  /** Unset: sends are not paced (SEND_PACE=off). */
  sendPacing?: PacingRule;
};

export const linkUrlFor = (controlPlaneUrl: string, runnerId: string): string => {
  const url = new URL('/internal/runners/connect', controlPlaneUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('runner_id', runnerId);
  return url.toString();
};

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): RunnerConfig => {
  const parsed = Env.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const lines = parsed.error.issues.map(i => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid runner configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const waMediaCa = e.WA_MEDIA_CA === undefined ? undefined : readPem('WA_MEDIA_CA', e.WA_MEDIA_CA);
  const runnerId = runnerIdOfToken(e.RUNNER_TOKEN)!;
  const base = e.CONTROL_PLANE_URL.replace(/\/+$/, '');
  return {
    controlPlaneUrl: base,
    linkUrl: linkUrlFor(base, runnerId),
    runnerToken: e.RUNNER_TOKEN,
    runnerId,
    capacity: e.RUNNER_CAPACITY,
    httpPort: e.RUNNER_HTTP_PORT,
    httpHost: e.RUNNER_HTTP_HOST,
    logLevel: e.LOG_LEVEL,
    waWebSocketUrl: e.WA_WEBSOCKET_URL,
    waTrustRoot: e.WA_TRUST_ROOT,
    waMediaCa,
    maxMediaBytes: e.MAX_MEDIA_BYTES,
    mediaDownloadTimeoutMs: e.MEDIA_DOWNLOAD_TIMEOUT_MS,
    maxConcurrentLogins: e.MAX_CONCURRENT_LOGINS,
    authFlushIntervalMs: e.AUTH_FLUSH_INTERVAL_MS,
    authSnapshotEvery: e.AUTH_SNAPSHOT_EVERY,
    outboxMaxEvents: e.OUTBOX_MAX_EVENTS,
    outboxMaxBytes: e.OUTBOX_MAX_BYTES,
    numberLookup: e.NUMBER_LOOKUP === 'true',
    deferReceipts: e.DEFER_RECEIPTS === 'true',
    outboxLingerMs: e.OUTBOX_LINGER_MS,
    outboxDir: e.OUTBOX_DIR,
    outboxSpillMaxBytes: e.OUTBOX_SPILL_MAX_BYTES,
    outboxFsyncMs: e.OUTBOX_FSYNC_MS,
    outboxReplayWaitMs: e.OUTBOX_REPLAY_WAIT_MS,
    drainTimeoutMs: e.DRAIN_TIMEOUT_MS,
    sendPacing: sendPacingOf(e),
  };
};

const sendPacingOf = (e: z.infer<typeof Env>): PacingRule | undefined => {
  const pace = parsePace(e.SEND_PACE);
  if (!pace) return undefined;
  return { ratePerSecond: pace.ratePerSecond, burst: e.SEND_BURST, jitterMs: e.SEND_JITTER_MS, maxWaitMs: e.SEND_MAX_WAIT_MS };
};

const readPem = (name: string, file: string): string => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`invalid runner configuration:\n  ${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`invalid runner configuration:\n  ${name}: ${file} holds no PEM certificate`);
  return text;
};
