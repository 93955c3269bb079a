// Stands in for Cloudflare's cron scheduler, which does not run locally: calls the Worker's scheduled
// handler (the webhook outbox sweep) through workerd's local trigger endpoint, as the platform would on
// wrangler.toml's `[triggers] crons`. Production never runs this; the dev stack and tests do.

/** The trigger endpoint Miniflare (with unsafeTriggerHandlers) and `wrangler dev --test-scheduled` serve. */
const SCHEDULED_PATH = '/cdn-cgi/local/scheduled';
const CRON = '* * * * *';

export interface CronTicker {
  stop(): void;
}

export function startCronTicker(workerUrl: string, intervalMs: number, log: (line: string) => void): CronTicker {
  let failures = 0;
  const timer = setInterval(() => {
    fetch(`${workerUrl}${SCHEDULED_PATH}?cron=${encodeURIComponent(CRON)}`, { signal: AbortSignal.timeout(intervalMs * 5) })
      .then(async (res) => {
        await res.body?.cancel();
        if (!res.ok) throw new Error(`status ${res.status}`);
        failures = 0;
      })
      .catch((e) => {
        // Said once per run of failures: a Worker restarting (dev reload) fails a tick or two.
        if (failures++ === 0) log(`cron tick failed (the webhook sweep did not run): ${e instanceof Error ? e.message : String(e)}`);
      });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
