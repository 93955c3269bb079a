// The runner as a process: configured only by env, trusts the emulator root from WA_TRUST_ROOT, and on
// SIGTERM announces `draining`, releases its lease when the control plane revokes it, and exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from './emulator/index.js';
import { control } from './emulator/testing.js';
import { startFakeControlPlane, type FakeControlPlane } from './fake-control-plane.js';

let emu: RunningEmulator;
let cp: FakeControlPlane;
let child: ChildProcess | undefined;

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
  cp = await startFakeControlPlane({ heartbeatMs: 500 });
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await cp?.close();
  await emu?.close();
});

describe('runner process', () => {
  it('links, runs a leased session, and drains on SIGTERM', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'runner/main.ts'], {
      env: {
        ...process.env,
        CONTROL_PLANE_URL: cp.url,
        RUNNER_TOKEN: cp.tokenFor('proc-runner'),
        RUNNER_ID: 'proc-runner',
        RUNNER_HTTP_PORT: '0',
        RUNNER_HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        WA_WEBSOCKET_URL: emu.url,
        WA_TRUST_ROOT: emu.rootPublicKey,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', d => (out += d));
    child.stderr!.on('data', d => (out += d));
    const exited = new Promise<number | null>(resolve => child!.on('exit', code => resolve(code)));

    await cp.until(() => (cp.runners.has('proc-runner') && cp.frames.some(f => f.runnerId === 'proc-runner' && f.frame.type === 'heartbeat') ? true : undefined), 20_000, 'runner linked');
    const port = Number(/"http_port":(\d+)/.exec(out)?.[1]);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

    const account = await control<{ phone: string }>(emu.controlUrl, 'POST', '/accounts', {});
    const pk = randomUUID();
    cp.grant('proc-runner', pk);
    const qr = await cp.waitForEvent(pk, e => e.type === 'qr', 20_000, 'qr');
    await control(emu.controlUrl, 'POST', `/accounts/${account.phone}/scan`, { qr: qr.type === 'qr' ? qr.qr : '' });
    await cp.waitForEvent(pk, e => e.type === 'connection.status' && e.status === 'connected', 20_000, 'connected');

    child.kill('SIGTERM');
    await cp.until(() => cp.frames.find(f => f.runnerId === 'proc-runner' && f.frame.type === 'draining'), 10_000, 'draining');
    expect(child.exitCode).toBeNull(); // still holding the lease
    await cp.revoke('proc-runner', pk, 'drain');
    expect(await exited).toBe(0);
    expect(out).toContain('drained');
    expect(cp.auth.get(pk)).toBeTruthy();
  });
});
