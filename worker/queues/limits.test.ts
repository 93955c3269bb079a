// Queue limits: our sending stays within what Cloudflare takes, and the local stand-in (Miniflare, the
// queue the tests and the dev stack use) refuses what Cloudflare refuses, so that a regression in our
// sizing cannot hide behind a kinder local queue. Where Miniflare is kinder (batches up to 288,000
// bytes; Cloudflare: 256 KB), the budget below is ours to keep, and is checked here.
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonBytes } from '../../protocol/utf8';
import { QUEUE_BATCH_BUDGET_BYTES, QUEUE_BATCH_MAX_MESSAGES, QUEUE_MESSAGE_BUDGET_BYTES, QueueMessageTooLarge, sendWithinLimits, type BatchQueue } from './limits';

const CLOUDFLARE_MESSAGE_BYTES = 128_000;
const CLOUDFLARE_BATCH_BYTES = 256_000;

function recordingQueue() {
  const batches: unknown[][] = [];
  const queue = { sendBatch: async (msgs: { body: unknown }[]) => void batches.push(msgs.map((m) => m.body)) } satisfies BatchQueue;
  return { queue, batches };
}

describe('sending within the queue limits', () => {
  it('splits by count and by bytes (UTF-8), keeping the order', async () => {
    const { queue, batches } = recordingQueue();
    // 800 CJK characters are 2,400 bytes: 100 of them are over 256 KB in all, though only 80,000 characters.
    const bodies = Array.from({ length: 150 }, (_, i) => ({ i, text: '中'.repeat(800) }));
    await sendWithinLimits(queue, bodies);
    expect(batches.flat()).toEqual(bodies);
    for (const b of batches) {
      expect(b.length).toBeLessThanOrEqual(QUEUE_BATCH_MAX_MESSAGES);
      expect(b.reduce((n: number, x) => n + jsonBytes(x), 0)).toBeLessThanOrEqual(QUEUE_BATCH_BUDGET_BYTES);
    }
    expect(QUEUE_BATCH_BUDGET_BYTES).toBeLessThan(CLOUDFLARE_BATCH_BYTES);
    expect(QUEUE_MESSAGE_BUDGET_BYTES).toBeLessThan(CLOUDFLARE_MESSAGE_BYTES);
  });

  it('refuses a single body over the message budget instead of letting the queue fail the whole batch', async () => {
    const { queue, batches } = recordingQueue();
    await expect(sendWithinLimits(queue, [{ text: '中'.repeat(45_000) }])).rejects.toBeInstanceOf(QueueMessageTooLarge);
    expect(batches).toEqual([]);
  });
});

describe('the local queue refuses what Cloudflare refuses', () => {
  let mf: Miniflare;
  beforeAll(async () => {
    mf = new Miniflare(
      convertV4MiniflareOptions({
      modules: true,
      script: `export default {
        async fetch(req, env) {
          const { kind, n, size } = await req.json();
          const body = 'x'.repeat(size);
          try {
            if (kind === 'one') await env.Q.send(body);
            else await env.Q.sendBatch(Array.from({ length: n }, () => ({ body })));
            return new Response('sent');
          } catch (e) { return new Response('refused: ' + e.message, { status: 413 }); }
        },
        async queue(batch) { batch.ackAll(); },
      }`,
      queueProducers: { Q: 'limits-q' },
      queueConsumers: { 'limits-q': {} },
    } as Parameters<typeof convertV4MiniflareOptions>[0]),
    );
    await mf.ready;
  });
  afterAll(() => mf?.dispose());
  const send = async (kind: 'one' | 'batch', size: number, n = 1) => {
    const res = await mf.dispatchFetch('http://local/', { method: 'POST', body: JSON.stringify({ kind, n, size }) });
    return { status: res.status, text: await res.text() };
  };

  it('a message over 128 KB', async () => {
    expect((await send('one', CLOUDFLARE_MESSAGE_BYTES - 100)).status).toBe(200);
    expect(await send('one', 45_000 * 3)).toMatchObject({ status: 413 }); // what 45,000 CJK characters are in UTF-8
  });

  it('a batch of more than 100 messages', async () => {
    expect((await send('batch', 10, 100)).status).toBe(200);
    expect((await send('batch', 10, 101)).status).toBe(413);
  });

  it('a batch far over 256 KB (locally only from 288,000 bytes: our budget keeps us under 256 KB)', async () => {
    expect((await send('batch', 3_000, 100)).status).toBe(413);
  });
});
