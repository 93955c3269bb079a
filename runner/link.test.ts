import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Semaphore, backoffMs } from './backoff.js';
import { linkUrlFor, loadConfig } from './config.js';
import { startFakeControlPlane, type FakeControlPlane } from './fake-control-plane.js';
import { Link } from './link.js';
import { runnerFeatures } from '../protocol/runner.js';
import { clock } from './clock.js';
import { connectionStatusEvent } from './whatsapp-events.js';

let cp: FakeControlPlane;
let link: Link | undefined;
beforeEach(async () => {
  cp = await startFakeControlPlane({ heartbeatMs: 100 });
});
afterEach(async () => {
  await link?.close();
  await cp.close();
});

const held = [{ connection_pk: '6f1c1f6e-6f63-4a53-9d0e-5a3c0c1f0a11', epoch: 3 }];
const make = (token = cp.token) =>
  (link = new Link({
    url: linkUrlFor(cp.url, 'link-test'),
    token,
    runnerId: 'link-test',
    capacity: 50,
    logger: pino({ level: 'silent' }),
    held: () => held,
    sessions: () => held.length,
    onFrame: () => undefined,
    backoffBaseMs: 20,
    backoffCapMs: 200,
  }));

describe('control-plane link', () => {
  it("takes the control plane's clock from its welcome, so events are stamped in its time", async () => {
    await cp.close();
    cp = await startFakeControlPlane({ heartbeatMs: 100, clockAheadMs: 90_000 });
    try {
      const l = make();
      l.start();
      await cp.until(() => (l.up ? true : undefined), 5000, 'up');
      expect(clock.offsetMs).toBeGreaterThan(89_000);
      expect(clock.offsetMs).toBeLessThan(91_000);
      const at = Date.parse(connectionStatusEvent('connected').at);
      expect(Math.abs(at - (Date.now() + 90_000))).toBeLessThan(1000);
    } finally {
      clock.reset();
    }
  });

  it('says hello with the leases it holds, heartbeats, and says hello again after the link drops', async () => {
    const l = make();
    l.start();
    await cp.until(() => (l.up ? true : undefined), 5000, 'up');
    await cp.until(() => cp.frames.find(f => f.frame.type === 'heartbeat'), 2000, 'heartbeat');
    cp.runners.get('link-test')!.ws.terminate();
    await cp.until(() => (cp.frames.filter(f => f.frame.type === 'hello').length === 2 ? true : undefined), 5000, 'second hello');
    const hellos = cp.frames.filter(f => f.frame.type === 'hello').map(f => f.frame);
    expect(hellos[1]).toEqual({ type: 'hello', runner_id: 'link-test', protocol: 1, features: [...runnerFeatures], capacity: 50, leases: held });
    await cp.until(() => (l.up ? true : undefined), 5000, 'up again');
  });

  it('keeps retrying while the token is refused, and is not up', async () => {
    const l = make('wrong');
    l.start();
    await new Promise(r => setTimeout(r, 300));
    expect(l.up).toBe(false);
    expect(cp.frames).toEqual([]);
  });

  it('lease.released frames sent while the link is down go out after the next welcome', async () => {
    const l = make();
    l.send({ type: 'lease.released', connection_pk: held[0]!.connection_pk, epoch: 3 });
    l.start();
    await cp.until(() => cp.frames.find(f => f.frame.type === 'lease.released'), 5000, 'released');
  });
});

describe('building blocks', () => {
  it('backoff has full jitter under an exponential cap', () => {
    expect(backoffMs(0, 100, 30_000, () => 0.999)).toBe(99);
    expect(backoffMs(5, 100, 30_000, () => 0.5)).toBe(1600);
    expect(backoffMs(50, 100, 30_000, () => 0.999)).toBe(29_970);
    expect(backoffMs(3, 100, 30_000, () => 0)).toBe(0);
  });

  it('the login semaphore admits at most N at once, in order', async () => {
    const sem = new Semaphore(2);
    const order: number[] = [];
    const releases = await Promise.all([sem.acquire(), sem.acquire()]);
    const third = sem.acquire().then(r => (order.push(3), r));
    const fourth = sem.acquire().then(r => (order.push(4), r));
    await new Promise(r => setTimeout(r, 10));
    expect([sem.inUse, sem.waiting, order]).toEqual([2, 2, []]);
    releases[0]!();
    releases[0]!(); // twice is harmless
    await third;
    expect([sem.inUse, sem.waiting, order]).toEqual([2, 1, [3]]);
    releases[1]!();
    (await fourth)();
    (await third)();
    expect(sem.inUse).toBe(0);
  });

  it('config: defaults, derived link URL, and clear errors', () => {
    const t = (id: string) => `sbr_${id}_${'0f'.repeat(32)}`;
    const c = loadConfig({ CONTROL_PLANE_URL: 'https://cp.example.com/', RUNNER_TOKEN: t('cp-1') });
    expect(c).toMatchObject({ capacity: 200, httpPort: 8080, maxConcurrentLogins: 8, authFlushIntervalMs: 1000, logLevel: 'info', runnerId: 'cp-1' });
    expect(c.linkUrl).toBe('wss://cp.example.com/internal/runners/connect?runner_id=cp-1');
    expect(loadConfig({ CONTROL_PLANE_URL: 'http://127.0.0.1:8787', RUNNER_TOKEN: t('r1'), RUNNER_ID: 'r1' }).linkUrl).toBe('ws://127.0.0.1:8787/internal/runners/connect?runner_id=r1');
    expect(() => loadConfig({ CONTROL_PLANE_URL: 'ftp://x', RUNNER_TOKEN: t('r1') })).toThrow(/CONTROL_PLANE_URL/);
    expect(() => loadConfig({ CONTROL_PLANE_URL: 'http://x', RUNNER_TOKEN: t('r1'), WA_TRUST_ROOT: 'abc' })).toThrow(/WA_TRUST_ROOT/);
  });
});
