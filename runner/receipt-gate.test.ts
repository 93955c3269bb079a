// Delivery receipts wait until the control plane has the message: so a runner that dies first leaves the
// message unreceipted, and WhatsApp delivers it again to the next holder, even without the dead one's disk.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRunner as spawnRunner, type RunnerProcess } from '../scripts/lib/runner-process.js';
import { baileysPatched } from './baileys-patch.js';
import { startEmulator, type RunningEmulator } from './emulator/index.js';
import { control, eventually } from './emulator/testing.js';
import { startFakeControlPlane, type FakeControlPlane } from './fake-control-plane.js';
import { ReceiptGate, type Orphan } from './receipt-gate.js';

const silent = pino({ level: 'silent' });

describe('ReceiptGate', () => {
  it('sends a held receipt once, when its claim is used, and never after a discard', async () => {
    const sent: string[] = [];
    const send = (id: string) => async () => void sent.push(id);
    const gate = new ReceiptGate(silent);
    gate.hold({ id: 'a' }, send('a'));
    gate.hold({ id: 'b' }, send('b'));
    expect(gate.size).toBe(2);
    const release = gate.take('a')!;
    expect(gate.take('a')).toBeUndefined();
    await Promise.resolve();
    expect(sent).toEqual([]);
    release();
    release();
    await Promise.resolve();
    expect(sent).toEqual(['a']);
    gate.close();
    expect(gate.size).toBe(0);
    expect(gate.take('b')).toBeUndefined();
    expect(sent).toEqual(['a']);
  });

  it('releases a receipt nobody claims after its limit, and a failed send is not an error', async () => {
    vi.useFakeTimers();
    try {
      const sent: string[] = [];
      const gate = new ReceiptGate(silent, () => undefined, 1000);
      gate.hold({ id: 'x' }, async () => void sent.push('x'));
      gate.hold({ id: 'y' }, async () => Promise.reject(new Error('Connection Closed')));
      await vi.advanceTimersByTimeAsync(999);
      expect(sent).toEqual([]);
      await vi.advanceTimersByTimeAsync(2);
      expect(sent).toEqual(['x']);
      expect(gate.size).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('lets a barrier wait for the receipts handed over before it, not for later ones', async () => {
    const gate = new ReceiptGate(silent);
    const none = async () => undefined;
    await gate.barrier(); // nothing outstanding: at once
    gate.hold({ id: 'early' }, none);
    gate.hold({ id: 'unclaimed' }, none);
    let passed = false;
    const barrier = gate.barrier().then(() => (passed = true));
    gate.hold({ id: 'later' }, none); // a busy chat must not hold the barrier up
    const early = gate.take('early')!;
    await new Promise(r => setImmediate(r));
    expect(passed).toBe(false);
    early();
    await new Promise(r => setImmediate(r));
    expect(passed).toBe(false); // 'unclaimed' still outstanding
    gate.close(); // its socket closed: WhatsApp redelivers it, nothing to wait for
    await barrier;
    expect(passed).toBe(true);
  });

  it("hands back the decrypted messages a closed socket never upserted, its own only, and they hold the barrier until stored", async () => {
    const orphaned: Array<{ ids: string[]; socket: object }> = [];
    let orphans: Orphan[] = [];
    const gate = new ReceiptGate(silent, () => undefined, 120_000, (o, socket) => {
      orphans.push(...o);
      orphaned.push({ ids: o.map(x => x.message.key.id!), socket });
    });
    const sent: string[] = [];
    const send = (id: string) => async () => void sent.push(id);
    const decrypted = (id: string) => ({ message: { key: { id, remoteJid: '1@s.whatsapp.net' }, message: { conversation: id } }, type: 'notify' as const });
    const [old, next] = [{}, {}];
    gate.hold({ id: 'upserted' }, send('upserted'), decrypted('upserted'), old);
    gate.hold({ id: 'buffered' }, send('buffered'), decrypted('buffered'), old);
    gate.hold({ id: 'new-socket' }, send('new-socket'), decrypted('new-socket'), next);
    gate.hold({ id: 'no-message' }, send('no-message'), undefined, old);
    gate.take('upserted')!();
    const barrier = gate.barrier();
    let passed = false;
    void barrier.then(() => (passed = true));

    gate.close(old);
    expect(orphaned).toEqual([{ ids: ['buffered'], socket: old }]);
    expect(orphans[0]!.message.message).toEqual({ conversation: 'buffered' });
    expect(gate.size).toBe(1); // the next socket's receipt stays held
    expect(gate.take('buffered')).toBeUndefined();

    // Decrypted after its socket closed: an orphan at once.
    gate.hold({ id: 'late' }, send('late'), decrypted('late'), old);
    expect(orphaned.at(-1)).toEqual({ ids: ['late'], socket: old });

    // The barrier waits for the orphans' events to be stored (and the next socket's held receipt).
    await new Promise(r => setImmediate(r));
    expect(passed).toBe(false);
    for (const o of orphans) o.release();
    gate.take('new-socket')!();
    await barrier;
    expect(passed).toBe(true);
    // An orphan's receipt is never sent: its socket is gone, and WhatsApp's redelivery is answered by the next socket.
    expect(sent.sort()).toEqual(['new-socket', 'upserted']);
    orphans = [];
  });

  it('runs on a patched Baileys (npm install applies patches/)', () => {
    expect(baileysPatched()).toBe(true);
  });
});

describe('receipts wait for the control plane (real Baileys against the emulator, runner processes)', () => {
  let emu: RunningEmulator;
  let cp: FakeControlPlane;
  const procs: RunnerProcess[] = [];
  const api = <T>(method: string, p: string, body?: unknown) => control<T>(emu.controlUrl, method, p, body);
  const receiptedIds = async () =>
    new Set((await api<Array<{ direction: string; ids: string[] }>>('GET', '/receipts')).filter(r => r.direction === 'gateway-to-contact').flatMap(r => r.ids));
  const stored = (pk: string, text: string) => cp.events.filter(e => e.pk === pk && e.event.type === 'message.upsert' && e.event.message.text === text);

  beforeAll(async () => {
    emu = await startEmulator({ port: 0 });
    cp = await startFakeControlPlane({ heartbeatMs: 500 });
  });
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.kill('SIGKILL');
    await cp?.close();
    await emu?.close();
  });

  // No OUTBOX_DIR: what a runner had in memory dies with it, as on a lost disk.
  const launch = async (runnerId: string) => {
    const p = await spawnRunner({
      controlPlaneUrl: cp.url,
      runnerToken: cp.tokenFor(runnerId),
      runnerId,
      waWebSocketUrl: emu.url,
      waTrustRoot: emu.rootPublicKey,
      env: { LOG_LEVEL: process.env.RUNNER_TEST_LOG ?? 'silent' },
      log: process.env.RUNNER_TEST_LOG ? line => console.log(runnerId, line) : () => {},
    });
    procs.push(p);
    await cp.until(() => (cp.frames.some(f => f.runnerId === runnerId && f.frame.type === 'hello') ? true : undefined), 20_000, `${runnerId} hello`);
    return p;
  };
  const link = async (runnerId: string) => {
    const account = await api<{ phone: string }>('POST', '/accounts', { name: 'Receipts' });
    const contact = await api<{ phone: string }>('POST', '/contacts', { name: 'Ana' });
    const pk = randomUUID();
    cp.grant(runnerId, pk);
    const qr = await cp.waitForEvent(pk, e => e.type === 'qr', 20_000, 'qr');
    await api('POST', `/accounts/${account.phone}/scan`, { qr: qr.type === 'qr' ? qr.qr : '' });
    await cp.waitForEvent(pk, e => e.type === 'connection.status' && e.status === 'connected', 20_000, 'connected');
    return { pk, account, contact };
  };
  const send = async (from: string, to: string, text: string) => (await api<{ ids: string[] }>('POST', `/contacts/${from}/messages`, { to, text })).ids[0]!;

  it('sends the delivery receipt only once the control plane has stored the message', async () => {
    await launch('gate-a');
    const { pk, account, contact } = await link('gate-a');
    cp.faults.eventsDown = true;
    const posts = cp.faults.eventPosts;
    const id = await send(contact.phone, account.phone, 'wait for storage');
    await cp.until(() => (cp.faults.eventPosts > posts + 1 ? true : undefined), 15_000, 'post attempts');
    expect((await receiptedIds()).has(id)).toBe(false);
    cp.faults.eventsDown = false;
    await eventually(async () => (await receiptedIds()).has(id) || undefined, 20_000);
    expect(stored(pk, 'wait for storage')).toHaveLength(1);
  }, 90_000);

  it('a runner killed before the control plane had its messages: WhatsApp delivers them again to the next holder', async () => {
    const first = await launch('gate-b');
    const { pk, account, contact } = await link('gate-b');
    cp.faults.eventsDown = true;
    const posts = cp.faults.eventPosts;
    const texts = ['one', 'two', 'three'].map(t => `unsaved ${t}`);
    for (const text of texts) await send(contact.phone, account.phone, text);
    await cp.until(() => (cp.faults.eventPosts > posts + 1 ? true : undefined), 15_000, 'post attempts');
    // Past an auth-state flush interval: a write with the decryptions in it would make the redelivery
    // undecryptable on the next holder, so it must wait for the messages to be stored.
    await new Promise(r => setTimeout(r, 1500));
    first.kill('SIGKILL');
    await first.exited;
    for (const text of texts) expect(stored(pk, text)).toHaveLength(0);

    cp.faults.eventsDown = false;
    await launch('gate-c');
    cp.grant('gate-c', pk);
    const connectedAgain = () => cp.events.find(e => e.pk === pk && e.epoch === 2 && e.event.type === 'connection.status' && e.event.status === 'connected');
    await cp.until(connectedAgain, 30_000, 'connected on the next holder');
    for (const text of texts) await cp.until(() => (stored(pk, text).length ? true : undefined), 30_000, `"${text}" stored`);
    const epochs = texts.flatMap(text => stored(pk, text).map(e => e.epoch));
    expect(new Set(epochs)).toEqual(new Set([2]));
    // And now WhatsApp has their receipts: it will not deliver them a third time.
    const ids = await eventually(async () => {
      const receipted = await receiptedIds();
      const mine = stored(pk, texts[0]!).concat(stored(pk, texts[1]!), stored(pk, texts[2]!)).map(e => (e.event.type === 'message.upsert' ? e.event.message.provider_message_id : ''));
      return mine.every(i => receipted.has(i)) ? mine : undefined;
    }, 20_000);
    expect(ids).toHaveLength(3);
  }, 120_000);
});
