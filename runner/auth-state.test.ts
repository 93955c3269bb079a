import { randomUUID } from 'node:crypto';
import { BufferJSON, initAuthCreds } from '@whiskeysockets/baileys';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RemoteAuthState, StaleEpochError } from './auth-state.js';
import { startFakeControlPlane, type FakeControlPlane } from './fake-control-plane.js';

let cp: FakeControlPlane;
const states: RemoteAuthState[] = [];
beforeEach(async () => {
  cp = await startFakeControlPlane();
});
afterEach(async () => {
  for (const s of states.splice(0)) s.close();
  await cp.close();
});

const load = async (pk: string, over: Partial<Parameters<typeof RemoteAuthState.load>[0]> = {}) => {
  const s = await RemoteAuthState.load({ controlPlaneUrl: cp.url, token: cp.token, runnerId: 'r1', connectionPk: pk, epoch: cp.epochs.get(pk)!, flushIntervalMs: 60_000, ...over });
  states.push(s);
  return s;
};
const session = (n: number) => new Uint8Array(Buffer.from(`session-${n}`));

describe('auth state', () => {
  it('a fresh connection starts from new creds', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    const s = await load(pk);
    expect(s.restored).toBe(false);
    expect(s.state.creds.noiseKey.public).toBeInstanceOf(Uint8Array);
  });

  it('coalesces many key changes into one delta per flush interval', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    const s = await load(pk, { flushIntervalMs: 150 });
    await s.flush(); // the fresh creds
    const before = cp.authWrites.length;
    for (let i = 0; i < 300; i++) await s.state.keys.set({ session: { [`peer${i % 40}.0`]: session(i) }, 'pre-key': { [String(i)]: i % 2 ? null : { public: session(i), private: session(i) } } });
    await cp.until(() => (cp.authWrites.length > before ? true : undefined), 2000, 'a periodic write');
    await new Promise(r => setTimeout(r, 400));
    expect(cp.authWrites.length - before).toBe(1);
    const delta = JSON.parse(cp.authWrites.at(-1)!.data, BufferJSON.reviver);
    expect(cp.authWrites.at(-1)!.kind).toBe('delta');
    expect(Object.keys(delta.keys.session)).toHaveLength(40);
    expect(delta.creds).toBeUndefined();
    expect(s.dirty).toBe(false);
  });

  it('loss bound: a key change is stored within one flush interval, so a kill -9 loses at most that window', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    const s = await load(pk, { flushIntervalMs: 200 });
    await s.flush();
    const changedAt = Date.now();
    await s.state.keys.set({ session: { bound: session(42) } });
    await cp.until(() => cp.authWrites.find(w => w.data.includes('"bound"')), 2000, 'the key stored');
    const elapsed = Date.now() - changedAt;
    expect(elapsed).toBeLessThan(200 + 150);
    // What the next holder loads after a crash now includes it.
    cp.epochs.set(pk, 2);
    const next = await load(pk, { epoch: 2 });
    expect(await next.state.keys.get('session', ['bound'])).toEqual({ bound: Buffer.from(session(42)) });
  });

  it('snapshot + deltas applied in seq order reproduce the state, including deletions', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    const a = await load(pk, { snapshotEvery: 1000 });
    await a.state.keys.set({ session: { x: session(1), y: session(2) }, 'app-state-sync-key': { k1: { keyData: session(9), timestamp: 5 } } });
    await a.flush();
    await a.state.keys.set({ session: { x: session(3), y: null } });
    a.credsChanged({ accountSyncCounter: 7 });
    await a.flush();
    a.close();
    cp.epochs.set(pk, 2);
    const b = await load(pk, { epoch: 2 });
    expect(b.restored).toBe(true);
    expect(await b.state.keys.get('session', ['x', 'y'])).toEqual({ x: Buffer.from(session(3)) });
    expect(b.state.creds.accountSyncCounter).toBe(7);
    expect(Buffer.from(b.state.creds.noiseKey.private)).toEqual(Buffer.from(a.state.creds.noiseKey.private));
    const key = (await b.state.keys.get('app-state-sync-key', ['k1'])).k1!;
    expect(key.constructor.name).toBe('AppStateSyncKeyData');
    expect(Buffer.from(key.keyData!)).toEqual(Buffer.from(session(9)));
  });

  it('a restored state writes keys it never read back unchanged, and reads them as Buffers', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    const a = await load(pk, { snapshotEvery: 1 });
    const preKey = { public: Buffer.from('pub-1'), private: Buffer.from('priv-1') };
    await a.state.keys.set({ 'pre-key': { '1': preKey, '2': { public: Buffer.from('pub-2'), private: Buffer.from('priv-2') } }, 'app-state-sync-key': { k1: { keyData: session(9), timestamp: 5 } } });
    await a.flush();
    a.close();
    // A new holder that reads nothing but writes a snapshot (its first change compacts the log).
    cp.epochs.set(pk, 2);
    const b = await load(pk, { epoch: 2, snapshotEvery: 1 });
    await b.state.keys.set({ session: { s: session(1) } });
    await b.flush();
    b.close();
    expect(cp.authWrites.at(-1)!.kind).toBe('snapshot');
    cp.epochs.set(pk, 3);
    const c = await load(pk, { epoch: 3 });
    const keys = await c.state.keys.get('pre-key', ['1', '2']);
    expect(Buffer.isBuffer(keys['1']!.public)).toBe(true);
    expect(Buffer.from(keys['1']!.private)).toEqual(preKey.private);
    expect(Buffer.from(keys['2']!.public)).toEqual(Buffer.from('pub-2'));
    const key = (await c.state.keys.get('app-state-sync-key', ['k1'])).k1!;
    expect(key.constructor.name).toBe('AppStateSyncKeyData');
    expect(Buffer.from(key.keyData!)).toEqual(Buffer.from(session(9)));
    expect(Buffer.from(c.state.creds.signedIdentityKey.private)).toEqual(Buffer.from(a.state.creds.signedIdentityKey.private));
  });

  it('writes nothing when Baileys re-reports creds that did not change (every restore does)', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    const a = await load(pk);
    a.credsChanged({ me: { id: '15550001111:1@s.whatsapp.net', name: 'Ann' } });
    await a.flush();
    a.close();
    cp.epochs.set(pk, 2);
    const b = await load(pk, { epoch: 2 });
    const writes = cp.authWrites.length;
    b.credsChanged({ me: { ...b.state.creds.me!, name: 'Ann' } });
    await b.flush();
    expect(cp.authWrites.length).toBe(writes);
    b.credsChanged({ accountSyncCounter: 9 });
    await b.flush();
    expect(cp.authWrites.length).toBe(writes + 1);
    expect(cp.authWrites.at(-1)!.data).toContain('"accountSyncCounter":9');
  });

  it('a snapshot every N deltas compacts the log', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    const s = await load(pk, { snapshotEvery: 5 });
    for (let i = 0; i < 12; i++) {
      await s.state.keys.set({ session: { [`p${i}`]: session(i) } });
      await s.flush();
    }
    expect(cp.authWrites.map(w => w.kind)).toEqual(['delta', 'delta', 'delta', 'delta', 'snapshot', 'delta', 'delta', 'delta', 'delta', 'snapshot', 'delta', 'delta']);
    const stored = cp.auth.get(pk)!;
    expect(stored.deltas).toHaveLength(2);
    const restored = await load(pk);
    expect(Object.keys(await restored.state.keys.get('session', Array.from({ length: 12 }, (_, i) => `p${i}`)))).toHaveLength(12);
  });

  it('pairing creds are written at once, not at the next interval', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    const s = await load(pk);
    s.credsChanged({ me: { id: '15550001111:1@s.whatsapp.net', name: 'x' } });
    await cp.until(() => cp.authWrites.find(w => w.data.includes('15550001111:1@s.whatsapp.net')), 2000, 'the pairing write');
  });

  it('a stale epoch stops all writing and reports the lost lease', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    let lost = 0;
    const s = await load(pk, { onStale: () => lost++ });
    cp.epochs.set(pk, 2); // the lease moved on
    await s.state.keys.set({ session: { x: session(1) } });
    await expect(s.flush()).rejects.toBeInstanceOf(StaleEpochError);
    expect(s.stale).toBe(true);
    expect(lost).toBe(1);
    await s.state.keys.set({ session: { y: session(2) } });
    await s.flush();
    expect(cp.authWrites).toHaveLength(0);
    await expect(load(pk, { epoch: 1 })).rejects.toBeInstanceOf(StaleEpochError);
  });

  it('a deleted connection counts as a lost lease too', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    let lost = 0;
    const s = await load(pk, { onStale: () => lost++ });
    cp.epochs.delete(pk);
    await expect(s.flush()).rejects.toBeInstanceOf(StaleEpochError);
    expect(lost).toBe(1);
    await expect(load(pk, { epoch: 1 })).rejects.toBeInstanceOf(StaleEpochError);
  });

  it('a failed write keeps the changes for the next one', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    const s = await load(pk);
    await s.flush();
    cp.faults.authWriteFailures = 1;
    await s.state.keys.set({ session: { x: session(1) } });
    await expect(s.flush()).rejects.toThrow(/503/);
    expect(s.dirty).toBe(true);
    await s.flush();
    expect(s.dirty).toBe(false);
    const restored = await load(pk);
    expect(await restored.state.keys.get('session', ['x'])).toEqual({ x: Buffer.from(session(1)) });
  });

  it('delete() drops the stored state and restarts from fresh creds', async () => {
    const pk = randomUUID();
    cp.epochs.set(pk, 1);
    const s = await load(pk);
    const old = initAuthCreds();
    s.credsChanged({ me: { id: '1555@s.whatsapp.net' }, advSecretKey: old.advSecretKey });
    await s.flush();
    expect(cp.auth.has(pk)).toBe(true);
    await s.delete();
    expect(cp.auth.has(pk)).toBe(false);
    expect(s.state.creds.me).toBeUndefined();
  });
});
