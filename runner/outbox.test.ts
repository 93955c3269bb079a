import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunnerEvent } from '../protocol/runner.js';
import { startFakeControlPlane, type FakeControlPlane } from './fake-control-plane.js';
import { createMetrics } from './metrics.js';
import { Outbox } from './outbox.js';

let cp: FakeControlPlane;
let outbox: Outbox | undefined;
beforeEach(async () => {
  cp = await startFakeControlPlane();
});
afterEach(async () => {
  outbox?.close();
  await cp.close();
});

const at = new Date().toISOString();
const statusEvent = (i: number): RunnerEvent => ({ id: `cs:${i}`, at, type: 'connection.status', status: 'connecting' });
const qr = (i: number): RunnerEvent => ({ id: `qr:${i}`, at, type: 'qr', qr: `ref${i},a,b,c`, expires_at: at });
const make = (over: Partial<ConstructorParameters<typeof Outbox>[0]> = {}) =>
  (outbox = new Outbox({ controlPlaneUrl: cp.url, token: cp.token, runnerId: 'r1', retryBaseMs: 20, retryCapMs: 100, ...over }));

describe('outbox', () => {
  it('delivers events in batches of at most 500, in order', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    const box = make();
    box.push(pk, 1, Array.from({ length: 1200 }, (_, i) => statusEvent(i)));
    await box.flush(pk);
    expect(cp.events.map(e => e.event.id)).toEqual(Array.from({ length: 1200 }, (_, i) => `cs:${i}`));
    expect(cp.faults.eventPosts).toBe(3);
    expect(box.depth).toBe(0);
  });

  it('keeps events through a control-plane outage and retries with backoff', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    const metrics = createMetrics({ defaultMetrics: false });
    cp.faults.eventsFailures = 3;
    const box = make({ metrics });
    box.push(pk, 1, [statusEvent(1), statusEvent(2)]);
    await box.flush(pk);
    expect(cp.events.map(e => e.event.id)).toEqual(['cs:1', 'cs:2']);
    expect(cp.faults.eventPosts).toBe(4);
    expect((await metrics.outboxPostFailures.get()).values[0]!.value).toBe(3);
  });

  it('survives network errors (connection dropped) the same way', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    cp.faults.eventsDown = true;
    const box = make();
    box.push(pk, 1, [statusEvent(1)]);
    await cp.until(() => (cp.faults.eventPosts >= 2 ? true : undefined), 5000, 'retries');
    expect(box.depth).toBe(1);
    cp.faults.eventsDown = false;
    await box.flush();
    expect(cp.events).toHaveLength(1);
  });

  it('one event the control plane keeps refusing is isolated by halving: every other event gets through', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    cp.faults.poisonEvents.add('cs:37');
    const box = make({ batchSize: 64 });
    box.push(pk, 1, Array.from({ length: 100 }, (_, i) => statusEvent(i)));
    await cp.until(() => (cp.events.length === 99 ? true : undefined), 10_000, '99 events through');
    for (let i = 0; i < 100 && box.depth > 1; i++) await new Promise((r) => setTimeout(r, 20)); // the last answer being read
    expect(cp.events.map((e) => e.event.id)).not.toContain('cs:37');
    expect(new Set(cp.events.map((e) => e.event.id)).size).toBe(99); // none twice
    // The refused one is kept, and retried: it may be an outage that only looks like poison.
    cp.faults.poisonEvents.clear();
    await box.flush(pk);
    expect(cp.events.map((e) => e.event.id)).toContain('cs:37');
  });

  it('a batch over the body limit is split; an event too large on its own is dropped and counted', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    cp.faults.tooLargeEvents.add('cs:5');
    const metrics = createMetrics({ defaultMetrics: false });
    const box = make({ metrics });
    box.push(pk, 1, Array.from({ length: 10 }, (_, i) => statusEvent(i)));
    await box.flush(pk);
    expect(cp.events.map((e) => e.event.id)).toEqual(Array.from({ length: 10 }, (_, i) => `cs:${i}`).filter((id) => id !== 'cs:5'));
    const dropped = (await metrics.outboxDropped.get()).values.find((v) => v.labels.reason === 'too_large');
    expect(dropped?.value).toBe(1);
  });

  it('a stale runner’s events are refused: dropped, and the sessions layer is told', async () => {
    const live = randomUUID();
    const moved = randomUUID();
    cp.epochs.set(live, 1);
    cp.epochs.set(moved, 2); // moved on to epoch 2 elsewhere
    const lost: Array<[string, number, string]> = [];
    const box = make({ onRejected: (pk, epoch, reason) => lost.push([pk, epoch, reason]) });
    box.push(moved, 1, [statusEvent(1), statusEvent(2)]);
    box.push(live, 1, [statusEvent(3)]);
    await box.flush();
    expect(cp.events.map(e => [e.pk, e.event.id])).toEqual([[live, 'cs:3']]);
    expect(lost).toEqual([[moved, 1, 'stale_epoch']]);
    expect(box.depth).toBe(0);
  });

  it('memory is bounded: when full, expired QR codes go first, then the oldest events, and it is counted', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    const metrics = createMetrics({ defaultMetrics: false });
    const box = make({ maxEvents: 1000, metrics });
    // All pushed in one turn: nothing is in flight yet.
    box.push(pk, 1, [statusEvent(0), qr(1), ...Array.from({ length: 998 }, (_, i) => statusEvent(i + 2))]);
    expect(box.depth).toBe(1000);
    box.push(pk, 1, [statusEvent(1000), statusEvent(1001)]);
    expect(box.depth).toBe(1000);
    expect((await metrics.outboxDropped.get()).values.find(v => v.labels.reason === 'overflow')?.value).toBe(2);
    expect((await metrics.outboxDepth.get()).values[0]!.value).toBe(1000);
    await box.flush();
    const ids = cp.events.map(e => e.event.id);
    expect(ids).toHaveLength(1000);
    expect(ids.slice(0, 2)).toEqual(['cs:2', 'cs:3']); // the QR went first, then the oldest event
    expect(ids.at(-1)).toBe('cs:1001');
  });

  it('memory is bounded in bytes too (UTF-8, not characters), with a gauge and a warning at half', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    const metrics = createMetrics({ defaultMetrics: false });
    const warnings: string[] = [];
    const logger = { warn: (_: unknown, msg: string) => warnings.push(msg), error: () => undefined } as never;
    const box = make({ maxBytes: 1024 * 1024, metrics, logger });
    cp.faults.eventsDown = true;
    // 40 messages of 10,000 CJK characters: 30 KB of UTF-8 each, 10 KB in UTF-16 code units.
    const text = '中'.repeat(10_000);
    const message = (i: number): RunnerEvent => ({
      id: `msg:${i}`,
      at,
      type: 'message.upsert',
      message: { provider_message_id: `m${i}`, chat_id: '1555@s.whatsapp.net', direction: 'inbound', from: '1555', to: null, push_name: null, type: 'text', text, content: null, timestamp: at, source: 'live' },
    });
    for (let i = 0; i < 16; i++) box.push(pk, 1, [message(i)]);
    expect(warnings).toEqual([]);
    for (let i = 16; i < 20; i++) box.push(pk, 1, [message(i)]);
    expect(warnings).toEqual(['outbox filling up: the control plane is not taking events; at the bound the oldest are evicted']);
    for (let i = 20; i < 40; i++) box.push(pk, 1, [message(i)]);
    expect(box.size).toBeLessThanOrEqual(1024 * 1024);
    expect(box.depth).toBeLessThan(40);
    expect(box.depth).toBeGreaterThan(30);
    expect((await metrics.outboxBytes.get()).values[0]!.value).toBe(box.size);
    const evicted = (await metrics.outboxDropped.get()).values.find(v => v.labels.reason === 'overflow')?.value ?? 0;
    expect(evicted + box.depth).toBe(40);
    expect(warnings).toContain('outbox full: evicting oldest events');
    cp.faults.eventsDown = false;
    await box.flush();
    expect(box.size).toBe(0);
    expect(cp.events.at(-1)!.event.id).toBe('msg:39'); // the newest kept, the oldest evicted
  });

  it('flush(pk) waits only for that lease', async () => {
    const a = randomUUID();
    const b = randomUUID();
    cp.epochs.set(a, 1);
    cp.epochs.set(b, 1);
    const box = make();
    box.push(a, 1, [statusEvent(1)]);
    await box.flush(a);
    await box.flush(b); // nothing queued for b: resolves at once
    expect(cp.eventsOf(a)).toHaveLength(1);
  });
  describe('linger window', () => {
    it('events pushed in separate turns within the window travel in one POST', async () => {
      const pk = randomUUID();
      cp.epochs.set(pk, 1);
      const box = make({ lingerMs: 200 });
      box.push(pk, 1, [statusEvent(1)]);
      await new Promise(r => setTimeout(r, 20)); // a later turn: the server ack after the message
      box.push(pk, 1, [statusEvent(2)]);
      await new Promise(r => setTimeout(r, 20));
      box.push(pk, 1, [statusEvent(3)]);
      await cp.until(() => (cp.events.length === 3 ? true : undefined), 5000, 'three events');
      expect(cp.events.map(e => e.event.id)).toEqual(['cs:1', 'cs:2', 'cs:3']);
      expect(cp.faults.eventPosts).toBe(1);
    });

    it('without a window, each turn posts on its own', async () => {
      const pk = randomUUID();
      cp.epochs.set(pk, 1);
      const box = make({ lingerMs: 0 });
      box.push(pk, 1, [statusEvent(1)]);
      await cp.until(() => (cp.events.length === 1 ? true : undefined), 5000, 'first event');
      box.push(pk, 1, [statusEvent(2)]);
      await cp.until(() => (cp.events.length === 2 ? true : undefined), 5000, 'second event');
      expect(cp.faults.eventPosts).toBe(2);
    });

    it('flush() does not wait out the window', async () => {
      const pk = randomUUID();
      cp.epochs.set(pk, 1);
      const box = make({ lingerMs: 60_000 });
      box.push(pk, 1, [statusEvent(1)]);
      await new Promise(r => setTimeout(r, 10));
      await box.flush(pk); // would hang for a minute (past the test timeout) if the window held
      expect(cp.events.map(e => e.event.id)).toEqual(['cs:1']);
    });

    it('a full batch does not wait out the window', async () => {
      const pk = randomUUID();
      cp.epochs.set(pk, 1);
      const box = make({ lingerMs: 60_000, batchSize: 3 });
      box.push(pk, 1, [statusEvent(1)]);
      await new Promise(r => setTimeout(r, 10));
      box.push(pk, 1, [statusEvent(2), statusEvent(3)]);
      await cp.until(() => (cp.events.length === 3 ? true : undefined), 5000, 'a full batch');
      expect(cp.faults.eventPosts).toBe(1);
    });
  });
});
