// Parent side of the timed HTTP client (timed-fetch-child.ts): requests are made and timed in a child
// process of their own, so what the bench process does meanwhile (the local Neon proxy, an in-process
// emulator) does not land in the measured latency, as it would not for a remote client.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startIpcChild } from './ipc-child.js';

export interface TimedFetchRequest {
  url: string;
  method: string;
  headers?: Record<string, string>;
  body?: string;
}
export interface TimedResponse {
  status: number;
  text: string;
  serverTiming: string | null;
  ms: number;
}

export interface TimedFetch {
  request(req: TimedFetchRequest): Promise<TimedResponse>;
  stop(): Promise<void>;
}

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'timed-fetch-child.ts');

export async function startTimedFetch(): Promise<TimedFetch> {
  const child = await startIpcChild<TimedFetchRequest>(CHILD, { label: 'timed HTTP client' });
  return {
    request: (req) => child.call<TimedResponse>(req, 60_000),
    stop: () => child.stop(),
  };
}
