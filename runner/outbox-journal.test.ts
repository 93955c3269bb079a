// The outbox journal: what a runner received but never handed to the control plane survives the death
// of its process (OUTBOX_DIR), and is replayed, once, by the next one.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunnerEvent } from '../protocol/runner.js';
import { startRunner as spawnRunner, type RunnerProcess } from '../scripts/lib/runner-process.js';
import { startEmulator, type RunningEmulator } from './emulator/index.js';
import { control, eventually } from './emulator/testing.js';
import { startFakeControlPlane, type FakeControlPlane } from './fake-control-plane.js';
import { Outbox } from './outbox.js';
import { OutboxJournal, readPending } from './outbox-journal.js';

let cp: FakeControlPlane;
let dir: string;
const outboxes: Outbox[] = [];

const status = (n: number): RunnerEvent => ({ id: `cs:${n}`, at: new Date(Date.now() + n).toISOString(), type: 'connection.status', status: 'connecting' });
const outbox = (journal: OutboxJournal) => {
  const o = new Outbox({ controlPlaneUrl: cp.url, token: cp.token, runnerId: 'r1', retryBaseMs: 20, retryCapMs: 50, journal });
  outboxes.push(o);
  return o;
};
const journalFile = () => path.join(dir, 'outbox.jsonl');

describe('the outbox journal', () => {
  beforeEach(async () => {
    cp = await startFakeControlPlane();
    dir = mkdtempSync(path.join(os.tmpdir(), 'outbox-journal-'));
  });
  afterEach(async () => {
    for (const o of outboxes.splice(0)) o.close();
    await cp.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('flushes appends to the disk within OUTBOX_FSYNC_MS (one fdatasync for a burst), on every append at 0, and on close', async () => {
    const { journal } = OutboxJournal.open(dir, { syncMs: 50 });
    const pk = randomUUID();
    journal.added([{ pk, epoch: 1, event: status(1) }]);
    journal.added([{ pk, epoch: 1, event: status(2) }]);
    expect(journal.syncs).toBe(0);
    await new Promise((r) => setTimeout(r, 120));
    expect(journal.syncs).toBe(1);
    journal.close();
    expect(journal.syncs).toBe(2);
    const eager = OutboxJournal.open(dir, { syncMs: 0 });
    eager.journal.added([{ pk, epoch: 1, event: status(3) }]);
    eager.journal.added([{ pk, epoch: 1, event: status(4) }]);
    expect(eager.journal.syncs).toBe(2);
    eager.journal.close();
    expect(readPending(readFileSync(journalFile(), 'utf8')).map((e) => e.event.id)).toEqual(['cs:1', 'cs:2', 'cs:3', 'cs:4']);
  });

  it('keeps events the control plane has not accepted, and a new process replays them once', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 3);
    cp.faults.eventsDown = true;
    const first = OutboxJournal.open(dir);
    const a = outbox(first.journal);
    a.push(pk, 3, [status(1), status(2)]);
    await cp.until(() => (cp.faults.eventPosts > 0 ? true : undefined), 5_000, 'a post attempt');
    // The process dies here: nothing is closed or flushed.
    a.close();

    cp.faults.eventsDown = false;
    const second = OutboxJournal.open(dir);
    expect(second.pending.map((e) => [e.pk, e.epoch, e.event.id])).toEqual([[pk, 3, 'cs:1'], [pk, 3, 'cs:2']]);
    const b = outbox(second.journal);
    b.replay(second.pending);
    await b.flush();
    expect(cp.events.map((e) => [e.epoch, e.event.id])).toEqual([[3, 'cs:1'], [3, 'cs:2']]);
    // Accepted: nothing left for a third process, and the file is empty again.
    expect(statSync(journalFile()).size).toBe(0);
    expect(OutboxJournal.open(dir).pending).toEqual([]);
  });

  it('does not replay events the control plane refused (lost lease)', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 5);
    const { journal } = OutboxJournal.open(dir);
    const o = outbox(journal);
    o.push(pk, 4, [status(1)]);
    await o.flush();
    expect(cp.events).toEqual([]);
    expect(OutboxJournal.open(dir).pending).toEqual([]);
  });

  it('stays about the size of what is pending while the control plane is down', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    const { journal } = OutboxJournal.open(dir, { compactBytes: 4096 });
    const o = outbox(journal);
    o.push(pk, 1, [status(0)]);
    await o.flush();
    cp.faults.eventsDown = true;
    for (let i = 1; i <= 200; i++) o.push(pk, 1, [status(i)]);
    expect(readPending(readFileSync(journalFile(), 'utf8'))).toHaveLength(200);
    cp.faults.eventsDown = false;
    await o.flush();
    expect(cp.events).toHaveLength(201);
    expect(statSync(journalFile()).size).toBe(0);
  });

  it('reads past a line the crash cut short', () => {
    const line = (n: number) => JSON.stringify({ n, pk: 'p', epoch: 1, event: status(n) });
    writeFileSync(journalFile(), `${line(1)}\n${line(2)}\n{"done":[1]}\n${line(3).slice(0, 20)}`);
    expect(OutboxJournal.open(dir).pending.map((e) => e.event.id)).toEqual(['cs:2']);
  });
});

describe('a runner killed with SIGKILL while the control plane is down', () => {
  let emu: RunningEmulator;
  const procs: RunnerProcess[] = [];
  beforeAll(async () => {
    emu = await startEmulator({ port: 0 });
    cp = await startFakeControlPlane({ heartbeatMs: 500 });
    dir = mkdtempSync(path.join(os.tmpdir(), 'outbox-journal-kill-'));
  });
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.kill('SIGKILL');
    await cp?.close();
    await emu?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const launch = async () => {
    const p = await spawnRunner({
      controlPlaneUrl: cp.url,
      runnerToken: cp.tokenFor('journal-runner'),
      runnerId: 'journal-runner',
      waWebSocketUrl: emu.url,
      waTrustRoot: emu.rootPublicKey,
      env: { OUTBOX_DIR: dir, LOG_LEVEL: process.env.RUNNER_TEST_LOG ?? 'silent' },
      log: () => {},
    });
    procs.push(p);
    return p;
  };
  const hellos = () => cp.frames.filter((f) => f.runnerId === 'journal-runner' && f.frame.type === 'hello').length;

  it('hands the message it had received to the control plane after a restart, before saying hello', async () => {
    const api = <T>(method: string, p: string, body?: unknown) => control<T>(emu.controlUrl, method, p, body);
    const account = await api<{ phone: string }>('POST', '/accounts', { name: 'Journal' });
    const contact = await api<{ phone: string }>('POST', '/contacts', { name: 'Kim' });
    const first = await launch();
    await cp.until(() => (hellos() === 1 ? true : undefined), 20_000, 'first hello');
    const pk = randomUUID();
    cp.grant('journal-runner', pk);
    const qr = await cp.waitForEvent(pk, (e) => e.type === 'qr', 20_000, 'qr');
    await api('POST', `/accounts/${account.phone}/scan`, { qr: qr.type === 'qr' ? qr.qr : '' });
    await cp.waitForEvent(pk, (e) => e.type === 'connection.status' && e.status === 'connected', 20_000, 'connected');

    cp.faults.eventsDown = true;
    const posts = cp.faults.eventPosts;
    const { ids } = await api<{ ids: string[] }>('POST', `/contacts/${contact.phone}/messages`, { to: account.phone, text: 'kept on disk' });
    // The runner tried to post it; WhatsApp has no delivery receipt yet (receipts wait for the control plane),
    // so it would deliver the message again too: the journal is the second line of defence.
    await cp.until(() => (cp.faults.eventPosts > posts ? true : undefined), 10_000, 'a post attempt');
    const receipts = await api<Array<{ direction: string; ids: string[] }>>('GET', '/receipts');
    expect(receipts.some((r) => r.direction === 'gateway-to-contact' && r.ids.includes(ids[0]!))).toBe(false);
    first.kill('SIGKILL');
    await first.exited;
    expect(cp.events.some((e) => e.event.type === 'message.upsert' && e.event.message.text === 'kept on disk')).toBe(false);

    cp.faults.eventsDown = false;
    await launch();
    await cp.until(() => (hellos() === 2 ? true : undefined), 30_000, 'second hello');
    const kept = cp.events.filter((e) => e.event.type === 'message.upsert' && e.event.message.text === 'kept on disk');
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ pk, epoch: 1 });
  }, 90_000);
});
