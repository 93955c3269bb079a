// The local queue keeps its messages across a workerd restart, as Cloudflare Queues keep them durably.
// Miniflare's broker held them in memory only, so a restarted `npm run dev` (or the fault suite's
// restarted control plane) dropped whatever was queued or in delivery; our patch to it
// (patches/miniflare+*.patch) keeps every unsettled message in the broker's storage on disk. Here a
// consumer hangs on its first batch while more messages wait, workerd is stopped, and a new one on the
// same state must deliver every message, with nothing delivered again once it was acknowledged.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { afterAll, expect, it } from 'vitest';

const SCRIPT = `export default {
  async fetch(req, env) {
    const { bodies } = await req.json();
    await env.Q.sendBatch(bodies.map((body) => ({ body })));
    return new Response('sent');
  },
  async queue(batch, env) {
    // A consumer that never finishes: its batch is in delivery, the rest waiting, when workerd stops.
    if (env.MODE === 'hang') return new Promise((r) => setTimeout(r, 600_000));
    for (const m of batch.messages) await env.SEEN.put(m.body + '#' + crypto.randomUUID(), String(m.attempts));
    batch.ackAll();
  },
}`;

const started: Miniflare[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(started.map((mf) => mf.dispose().catch(() => undefined)));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function start(persistTo: string, mode: 'hang' | 'ack') {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script: SCRIPT,
      bindings: { MODE: mode },
      kvNamespaces: ['SEEN'],
      queueProducers: { Q: 'durable-q' },
      queueConsumers: { 'durable-q': { maxBatchSize: 5, maxBatchTimeout: 0 } },
      resourcePersistencePath: persistTo,
    } as Parameters<typeof convertV4MiniflareOptions>[0]),
  );
  await mf.ready;
  started.push(mf);
  return mf;
}

/** Each delivered body, as many times as it was delivered. */
async function delivered(mf: Miniflare): Promise<string[]> {
  const kv = await mf.getKVNamespace('SEEN');
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await kv.list({ cursor });
    names.push(...page.keys.map((k) => k.name.split('#')[0]!));
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return names.sort();
}

const until = async (ok: () => Promise<boolean>, what: string, ms = 20_000) => {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

it('delivers, after a restart, what was queued or in delivery when workerd stopped, and nothing twice once acknowledged', async () => {
  const persistTo = await mkdtemp(path.join(tmpdir(), 'sb-queue-'));
  dirs.push(persistTo);
  const bodies = Array.from({ length: 12 }, (_, i) => `m${String(i).padStart(2, '0')} 中文`);

  const first = await start(persistTo, 'hang');
  expect(await (await first.dispatchFetch('http://local/', { method: 'POST', body: JSON.stringify({ bodies }) })).text()).toBe('sent');
  await new Promise((r) => setTimeout(r, 300)); // the first batch is handed to the hanging consumer
  await first.dispose();

  // Nobody sends to the restarted queue: it must wake by itself (its alarm) and deliver.
  const second = await start(persistTo, 'ack');
  await until(async () => (await delivered(second)).length >= bodies.length, 'every message after the restart');
  expect(await delivered(second)).toEqual([...bodies].sort());
  await second.dispose();

  // Acknowledged messages are settled for good: a third start on the same state delivers nothing again.
  const third = await start(persistTo, 'ack');
  await new Promise((r) => setTimeout(r, 3_000)); // past the broker's 2 s wake-up alarm
  expect(await delivered(third)).toEqual([...bodies].sort());
}, 60_000);
