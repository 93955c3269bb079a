// Child side of timed-fetch.ts: makes one HTTP request per IPC message and times it here, in a process
// that does nothing else, as an API client on another machine would. The bench's own process hosts the
// local Neon proxy (and often the emulator); a timer there would count their work as request latency.
import type { TimedFetchReply, TimedFetchRequest } from './timed-fetch.js';

process.on('disconnect', () => process.exit(0));
process.on('message', (req: TimedFetchRequest) => {
  void (async () => {
    const t0 = performance.now();
    const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body });
    const text = await res.text();
    const ms = performance.now() - t0;
    return { id: req.id, ok: true, status: res.status, text, serverTiming: res.headers.get('server-timing'), ms } satisfies TimedFetchReply;
  })().then(
    (reply) => process.send!(reply),
    (e: Error) => process.send!({ id: req.id, ok: false, error: e.stack ?? String(e) } satisfies TimedFetchReply),
  );
});
process.send!({ id: 0, ok: true, status: 0, text: 'ready', serverTiming: null, ms: 0 } satisfies TimedFetchReply);
