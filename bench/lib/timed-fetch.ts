// Parent side of the timed HTTP client (timed-fetch-child.ts): requests are made and timed in a child
// process of their own, so what the bench process does meanwhile (the local Neon proxy, the emulator and
// its contacts decrypting) does not land in the measured latency, as it would not for a remote client.
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackChild } from './run.js';

export interface TimedFetchRequest {
  id: number;
  url: string;
  method: string;
  headers?: Record<string, string>;
  body?: string;
}
export type TimedFetchReply =
  | { id: number; ok: true; status: number; text: string; serverTiming: string | null; ms: number }
  | { id: number; ok: false; error: string };
export type TimedResponse = Extract<TimedFetchReply, { ok: true }>;

export interface TimedFetch {
  request(req: Omit<TimedFetchRequest, 'id'>): Promise<TimedResponse>;
  stop(): Promise<void>;
}

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'timed-fetch-child.ts');

export async function startTimedFetch(): Promise<TimedFetch> {
  const child = fork(CHILD, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  trackChild(child.pid);
  child.on('error', () => undefined); // a send to a child that is gone; the exit handler reports it
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const waiting = new Map<number, { resolve: (r: TimedResponse) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const ready = new Promise<void>((resolve, reject) => {
    waiting.set(0, { resolve: () => resolve(), reject });
    child.once('exit', (code) => reject(new Error(`timed-fetch child exited (${code})`)));
  });
  child.on('message', (reply: TimedFetchReply) => {
    const w = waiting.get(reply.id);
    if (!w) return;
    waiting.delete(reply.id);
    if (reply.ok) w.resolve(reply);
    else w.reject(new Error(`timed-fetch child: ${reply.error}`));
  });
  child.once('exit', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`timed-fetch child exited (${code})`));
    waiting.clear();
  });
  await ready;
  return {
    request: (req) =>
      new Promise<TimedResponse>((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        if (!child.connected) return reject(new Error('timed-fetch child is gone'));
        child.send({ ...req, id } satisfies TimedFetchRequest);
      }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}
