// Parent side of the bare Baileys baseline: forks bare-child.ts (Node with --expose-gc) and drives it.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startIpcChild } from './ipc-child.js';

export type BareRequest = { id: number } & (
  | { op: 'gc' }
  | { op: 'link'; count: number; concurrency: number }
  | { op: 'send'; to: string; text: string }
  | { op: 'restore'; concurrency: number }
  /** The linked sessions' phone numbers. */
  | { op: 'phones' }
  /** Texts received live (messages.upsert `notify`) since the last take, with when (Date.now()); with BENCH_MEDIA_CA_FILE, a file's caption once the file is downloaded. */
  | { op: 'take-received' }
  | { op: 'close' }
);
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

export async function startBare(emulator: { url: string; controlUrl: string; rootPublicKey: string }, opts: { mediaCaFile?: string } = {}): Promise<Bare> {
  const child = await startIpcChild<Op>(CHILD, {
    label: 'bare Baileys child',
    execArgv: ['--expose-gc'],
    env: {
      BENCH_EMULATOR_URL: emulator.url,
      BENCH_EMULATOR_CONTROL_URL: emulator.controlUrl,
      BENCH_EMULATOR_ROOT: emulator.rootPublicKey,
      ...(opts.mediaCaFile ? { BENCH_MEDIA_CA_FILE: opts.mediaCaFile } : {}),
    },
  });
  return {
    pid: child.pid,
    rss: child.rss,
    call: child.call,
    gcRss: async () => {
      await child.call({ op: 'gc' });
      return child.rss();
    },
    stop: () => child.stop({ op: 'close' }),
  };
}
