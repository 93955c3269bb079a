// A benchmark helper process driven over IPC: the parent sends `{ id, ...request }`, the child answers
// `{ id, ok, result | error }`; id 0 is the child's "ready". Used where a figure must come from a process
// that does nothing else (bare Baileys' memory and send times, the API client's request times).
import { fork } from 'node:child_process';
import { rssBytes, trackChild } from './run.js';

const READY_TIMEOUT_MS = 60_000;

export type IpcReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export interface IpcChild<Req extends object> {
  pid: number;
  rss(): number;
  call<T>(req: Req, timeoutMs?: number): Promise<T>;
  /** `farewell` is sent first (and given 5 s) when given; then SIGTERM, then SIGKILL after 5 s. */
  stop(farewell?: Req): Promise<void>;
}

export async function startIpcChild<Req extends object>(
  file: string,
  opts: { label: string; execArgv?: string[]; env?: NodeJS.ProcessEnv },
): Promise<IpcChild<Req>> {
  const child = fork(file, [], {
    execArgv: ['--import', 'tsx', ...(opts.execArgv ?? [])],
    env: { ...process.env, ...opts.env },
    // stdout ignored (libsignal console.logs every session it closes); errors come back over IPC or on stderr.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  trackChild(child.pid);
  child.on('error', () => undefined); // a send to a child that is gone; the exit handler reports it
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let nextId = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${opts.label} did not start within ${READY_TIMEOUT_MS / 1000} s`));
    }, READY_TIMEOUT_MS);
    waiting.set(0, { resolve: () => (clearTimeout(timer), resolve()), reject: (e) => (clearTimeout(timer), reject(e)) });
  });
  child.on('message', (reply: IpcReply) => {
    const w = waiting.get(reply.id);
    if (!w) return;
    waiting.delete(reply.id);
    if (reply.ok) w.resolve(reply.result);
    else w.reject(new Error(`${opts.label}: ${reply.error}`));
  });
  child.once('exit', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`${opts.label} exited (${code})`));
    waiting.clear();
  });
  await ready;

  const call = <T>(req: Req, timeoutMs = 600_000) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`${opts.label}: request timed out`));
      }, timeoutMs);
      waiting.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      if (!child.connected) return reject(new Error(`${opts.label} is gone`));
      child.send({ ...req, id });
    });
  return {
    pid: child.pid!,
    rss: () => rssBytes(child.pid!),
    call,
    stop: async (farewell) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (farewell) await call(farewell, 5_000).catch(() => undefined);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Child side: answers each request with `handle`'s result (or its error), after saying ready. */
export function serveIpc<Req extends { id: number }>(handle: (req: Req) => Promise<unknown>): void {
  process.on('disconnect', () => process.exit(0));
  process.on('message', (req: Req) => {
    void handle(req).then(
      (result) => process.send!({ id: req.id, ok: true, result } satisfies IpcReply),
      (e: Error) => process.send!({ id: req.id, ok: false, error: e.stack ?? String(e) } satisfies IpcReply),
    );
  });
  process.send!({ id: 0, ok: true, result: 'ready' } satisfies IpcReply);
}
