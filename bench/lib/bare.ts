// Parent side of the bare Baileys baseline: forks bare-child.ts (Node with --expose-gc) and drives it.
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rssBytes, trackChild } from './run.js';

export type BareRequest = { id: number } & (
  | { op: 'gc' }
  | { op: 'link'; count: number; concurrency: number }
  | { op: 'send'; to: string; text: string }
  | { op: 'restore'; concurrency: number }
  | { op: 'close' }
);
export type BareReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
type Op = BareRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export interface Bare {
  pid: number;
  rss(): number;
  call<T>(req: Op, timeoutMs?: number): Promise<T>;
  /** GC twice, then the process's VmRSS. */
  gcRss(): Promise<number>;
  stop(): Promise<void>;
}

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'bare-child.ts');

export async function startBare(emulator: { url: string; controlUrl: string; rootPublicKey: string }): Promise<Bare> {
  const child: ChildProcess = fork(CHILD, [], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    env: {
      ...process.env,
      BENCH_EMULATOR_URL: emulator.url,
      BENCH_EMULATOR_CONTROL_URL: emulator.controlUrl,
      BENCH_EMULATOR_ROOT: emulator.rootPublicKey,
    },
    // stdout: libsignal console.logs every session it closes; errors come back over IPC or on stderr.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  trackChild(child.pid);
  child.on('error', () => undefined); // a send to a child that is gone; the exit handler reports it
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let nextId = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const ready = new Promise<void>((resolve, reject) => {
    waiting.set(0, { resolve: () => resolve(), reject });
    child.once('exit', (code) => reject(new Error(`bare Baileys child exited (${code})`)));
  });
  child.on('message', (reply: BareReply) => {
    const w = waiting.get(reply.id);
    if (!w) return;
    waiting.delete(reply.id);
    if (reply.ok) w.resolve(reply.result);
    else w.reject(new Error(`bare child: ${reply.error}`));
  });
  child.once('exit', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`bare Baileys child exited (${code})`));
    waiting.clear();
  });
  await ready;

  const call = <T>(req: Op, timeoutMs = 600_000) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`bare child: ${req.op} timed out`));
      }, timeoutMs);
      waiting.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      if (!child.connected) return reject(new Error('bare child is gone'));
      child.send({ ...req, id });
    });
  return {
    pid: child.pid!,
    rss: () => rssBytes(child.pid!),
    call,
    gcRss: async () => {
      await call({ op: 'gc' });
      return rssBytes(child.pid!);
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await call({ op: 'close' }, 5_000).catch(() => undefined);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
