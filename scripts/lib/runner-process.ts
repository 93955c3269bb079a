// Starts a runner (runner/main.ts) as its own Node process, as the dev stack and end-to-end tests do:
// the same binary a container runs, configured by env, health-checked on its HTTP port.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { forEachLine } from './lines';
import { killGroupOnExit } from './process-group';
import { freePort } from './ports';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface RunnerOptions {
  /** Run this bundle (see runner-bundle.ts) as a container does, instead of runner/main.ts through tsx. */
  bundle?: string;
  controlPlaneUrl: string;
  runnerToken: string;
  runnerId: string;
  capacity?: number;
  /** Point Baileys at a WhatsApp Web emulator instead of WhatsApp. */
  waWebSocketUrl?: string;
  waTrustRoot?: string;
  /** PEM file of the emulator's media CA: Baileys' media uploads and downloads trust it (WA_MEDIA_CA). */
  waMediaCa?: string;
  env?: Record<string, string>;
  log?: (line: string) => void;
}

export interface RunnerProcess {
  id: string;
  httpUrl: string;
  child: ChildProcess;
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM (drain), then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<number | string>;
}

export async function startRunner(opts: RunnerOptions): Promise<RunnerProcess> {
  const port = await freePort();
  const entry = opts.bundle ? ['--enable-source-maps', opts.bundle] : ['--import', 'tsx', path.join(ROOT, 'runner/main.ts')];
  const child = spawn(process.execPath, entry, {
    cwd: ROOT,
    // Its own process group: a terminal's Ctrl-C reaches only the parent, which then drains it once.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      CONTROL_PLANE_URL: opts.controlPlaneUrl,
      RUNNER_TOKEN: opts.runnerToken,
      RUNNER_ID: opts.runnerId,
      RUNNER_CAPACITY: String(opts.capacity ?? 50),
      RUNNER_HTTP_PORT: String(port),
      ...(opts.waWebSocketUrl ? { WA_WEBSOCKET_URL: opts.waWebSocketUrl } : {}),
      ...(opts.waTrustRoot ? { WA_TRUST_ROOT: opts.waTrustRoot } : {}),
      ...(opts.waMediaCa ? { WA_MEDIA_CA: opts.waMediaCa } : {}),
      LOG_LEVEL: process.env.RUNNER_LOG_LEVEL ?? 'warn',
      ...opts.env,
    },
  });
  const log = opts.log ?? ((line: string) => process.stderr.write(`[runner ${opts.runnerId}] ${line}\n`));
  forEachLine([child.stdout, child.stderr], log);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  let gone = false;
  killGroupOnExit(child);
  void exited.then(() => (gone = true));
  const httpUrl = `http://127.0.0.1:${port}`;
  const kill = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (!gone) child.kill(signal);
  };
  const stop = async (graceMs = 30_000) => {
    kill('SIGTERM');
    const timer = setTimeout(() => kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };

  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`runner ${opts.runnerId} exited before it was ready`);
    const ready = await fetch(`${httpUrl}/readyz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
    if (ready) return { id: opts.runnerId, httpUrl, child, exited, kill, stop };
    await new Promise((r) => setTimeout(r, 200));
  }
  kill('SIGKILL');
  throw new Error(`runner ${opts.runnerId} did not become ready`);
}
