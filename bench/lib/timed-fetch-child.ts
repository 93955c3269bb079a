// Child side of timed-fetch.ts: makes one HTTP request per IPC message and times it here, in a process
// that does nothing else, as an API client on another machine would. The bench's own process hosts the
// local Neon proxy (and often the emulator); a timer there would count their work as request latency.
import { serveIpc } from './ipc-child.js';
import type { TimedFetchRequest, TimedResponse } from './timed-fetch.js';

serveIpc<TimedFetchRequest & { id: number }>(async (req) => {
  const t0 = performance.now();
  const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body });
  const text = await res.text();
  const ms = performance.now() - t0;
  return { status: res.status, text, serverTiming: res.headers.get('server-timing'), ms } satisfies TimedResponse;
});
