// The outbox past its memory bound, with OUTBOX_DIR: what does not fit waits on disk, in order, and is
// delivered once the control plane takes events again; only past the spill's own bound is anything evicted.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunnerEvent } from '../protocol/runner.js';
import { startFakeControlPlane, type FakeControlPlane } from './fake-control-plane.js';
import { createMetrics, type RunnerMetrics } from './metrics.js';
import { Outbox } from './outbox.js';
import { OutboxJournal } from './outbox-journal.js';
import { OutboxSpill } from './outbox-spill.js';

let cp: FakeControlPlane;
let dir: string;
const opened: Array<{ close(): void }> = [];

const at = new Date().toISOString();
/** About 120 bytes of JSON each. */
const status = (i: number): RunnerEvent => ({ id: `cs:${i}`, at, type: 'connection.status', status: 'connecting' });
const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `cs:${from + i}`);
const spillFiles = () => readdirSync(dir).filter((f) => f.startsWith('spill-'));

function outbox(opts: { metrics?: RunnerMetrics; spillMaxBytes?: number } = {}) {
  const { journal, pending } = OutboxJournal.open(dir, { syncMs: 0 });
  const spill = new OutboxSpill(dir, { segmentBytes: 2_000, maxBytes: opts.spillMaxBytes, syncMs: 0 });
  const box = new Outbox({
    controlPlaneUrl: cp.url,
    token: cp.token,
    runnerId: 'r1',
    retryBaseMs: 20,
    retryCapMs: 50,
    maxBytes: 3_000,
    journal,
    spill,
    metrics: opts.metrics,
  });
  opened.push(box, journal);
  return { box, pending };
}
const overflow = async (m: RunnerMetrics) => (await m.outboxDropped.get()).values.find((v) => v.labels.reason === 'overflow')?.value ?? 0;

describe('the outbox spill', () => {
  beforeEach(async () => {
    cp = await startFakeControlPlane();
    dir = mkdtempSync(path.join(os.tmpdir(), 'outbox-spill-'));
  });
  afterEach(async () => {
    for (const o of opened.splice(0)) o.close();
    await cp.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps what memory cannot hold on disk during an outage, evicts nothing, and delivers all in order after it', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    cp.faults.eventsDown = true;
    const metrics = createMetrics({ defaultMetrics: false });
    const { box } = outbox({ metrics });
    for (let i = 0; i < 200; i++) box.push(pk, 1, [status(i)]);
    // 200 events of about 120 bytes each: far past 3,000 bytes of memory.
    expect(box.size).toBeLessThanOrEqual(3_000);
    expect(box.depth).toBe(200);
    expect(spillFiles().length).toBeGreaterThan(1);
    expect((await metrics.outboxSpilledBytes.get()).values[0]!.value).toBeGreaterThan(10_000);
    expect(await overflow(metrics)).toBe(0);

    cp.faults.eventsDown = false;
    await box.flush(pk);
    expect(cp.events.map((e) => e.event.id)).toEqual(ids(0, 200));
    expect(box.depth).toBe(0);
    expect(spillFiles()).toEqual([]);
  });

  it('waits for spilled events in flush(pk), and a lost lease drops its spilled events but no one else\'s', async () => {
    const [lost, kept] = [randomUUID(), randomUUID()];
    cp.epochs.set(lost, 1);
    cp.epochs.set(kept, 1);
    cp.faults.eventsDown = true;
    const { box } = outbox();
    for (let i = 0; i < 100; i++) box.push(i % 2 ? lost : kept, 1, [status(i)]);
    box.drop(lost);
    let flushed = false;
    const flushing = box.flush(kept).then(() => (flushed = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(flushed).toBe(false);
    cp.faults.eventsDown = false;
    await flushing;
    expect(cp.events.map((e) => e.event.id)).toEqual(ids(0, 100).filter((_, i) => i % 2 === 0));
  });

  it('survives the death of the process: the next one delivers the journal, then the spill, each event once', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 4);
    cp.faults.eventsDown = true;
    const first = outbox();
    for (let i = 0; i < 150; i++) first.box.push(pk, 4, [status(i)]);
    await cp.until(() => (cp.faults.eventPosts > 0 ? true : undefined), 5_000, 'a post attempt');
    // The process dies: nothing flushed or handed over.
    first.box.close();

    cp.faults.eventsDown = false;
    const second = outbox();
    expect(second.box.depth).toBeGreaterThan(0); // the spill, before the replay
    second.box.replay(second.pending);
    await second.box.flush();
    expect(cp.events.map((e) => e.event.id)).toEqual(ids(0, 150));
    expect(spillFiles()).toEqual([]);
    expect(OutboxJournal.open(dir).pending).toEqual([]);
  });

  it('past its own bound on disk, evicts the oldest spilled events (counted), never the newest', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    cp.faults.eventsDown = true;
    const metrics = createMetrics({ defaultMetrics: false });
    const { box } = outbox({ metrics, spillMaxBytes: 6_000 });
    for (let i = 0; i < 300; i++) box.push(pk, 1, [status(i)]);
    const evicted = await overflow(metrics);
    expect(evicted).toBeGreaterThan(0);
    cp.faults.eventsDown = false;
    await box.flush();
    const delivered = cp.events.map((e) => e.event.id);
    expect(delivered.length).toBe(300 - evicted);
    // What is gone is one run of the oldest spilled events: what was in memory and the newest all arrived, in order.
    const n = (id: string) => Number(id.slice(3));
    const gap = delivered.findIndex((id, i) => n(id) !== i);
    expect(gap).toBeGreaterThan(0);
    expect(delivered.slice(0, gap)).toEqual(ids(0, gap));
    expect(delivered.slice(gap)).toEqual(ids(300 - (delivered.length - gap), 300));
  });
});
