// Restore on restart: stop every runner and the control plane, start them again, and every linked
// connection comes back without a new QR (auth state from R2, leases from the Scheduler's storage).
import { afterAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/lib/ports';
import { startRunner, type RunnerProcess } from '../../scripts/lib/runner-process';
import { startStack, type Stack } from '../../scripts/lib/stack';
import { closeDatabase, newTenant, uniqueId } from '../harness/api';
import { TEST_SCHEDULER_VARS } from '../harness/global-setup';
import { eventually, phone, phoneNumber } from '../harness/whatsapp';

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await closeDatabase();
});

async function controlPlane(dataDir: string, port: number): Promise<Stack> {
  const stack = await startStack({
    dashboard: 'if-missing',
    dataDir,
    port,
    databaseUrl: inject('databaseUrl'),
    vars: { RUNNER_TOKEN: inject('runnerToken'), ...TEST_SCHEDULER_VARS },
    prebuilt: true,
    log: process.env.E2E_VERBOSE ? undefined : () => {},
  });
  cleanups.push(() => stack.stop());
  return stack;
}

async function runner(url: string, id: string): Promise<RunnerProcess> {
  const r = await startRunner({
    controlPlaneUrl: url,
    runnerToken: inject('runnerToken'),
    runnerId: id,
    waWebSocketUrl: inject('emulatorUrl'),
    waTrustRoot: inject('emulatorRootPublicKey'),
    log: process.env.E2E_VERBOSE ? undefined : () => {},
  });
  cleanups.push(() => r.stop(5_000));
  return r;
}

it('every linked connection returns after the runners and the Worker restart, with no QR', async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'switchboard-restore-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  let stack = await controlPlane(dataDir, port);
  const first = await runner(stack.url, 'restore-a');

  const t = await newTenant('restore');
  const api = (method: string, p: string, body?: unknown) =>
    fetch(`${stack.url}${p}`, {
      method,
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

  const contact = phoneNumber();
  await phone('POST', '/contacts', { phone: contact, name: 'Restore contact' });
  const links: { id: string; number: string }[] = [];
  for (let i = 0; i < 2; i++) {
    const id = uniqueId('restore');
    const number = phoneNumber();
    await phone('POST', '/accounts', { phone: number, name: `Restore ${i}` });
    expect((await api('POST', '/api/connections', { connection_id: id })).status).toBe(201);
    const qr = await eventually(async () => {
      const res = await api('GET', `/api/get-qr/${id}?wait=10`);
      return res.body.qr_raw ? res.body : undefined;
    }, 'a QR');
    await phone('POST', `/accounts/${number}/scan`, { qr: qr.qr_raw });
    await eventually(async () => (await api('GET', `/api/connections/${id}`)).body.status === 'connected', 'connected');
    links.push({ id, number });
  }

  // Everything stops: the runner (drains) and the control plane.
  expect(await first.stop(30_000)).toBe(0);
  await stack.stop();

  // Everything starts again, on the same storage.
  stack = await controlPlane(dataDir, port);
  await runner(stack.url, 'restore-b');
  for (const link of links) {
    await phone('POST', `/contacts/${contact}/messages`, { to: link.number, text: `back after restart ${link.id}` });
  }
  for (const link of links) {
    await eventually(async () => {
      const list = (await api('GET', `/api/messages/${link.id}/${contact}`)).body as any[];
      return list.some((m) => m.message === `back after restart ${link.id}`);
    }, `a message on ${link.id} after the restart`, 60_000);
    await eventually(async () => (await api('GET', `/api/connections/${link.id}`)).body.status === 'connected', `${link.id} connected`);
    expect((await api('GET', `/api/get-qr/${link.id}?wait=0`)).body.qr).toBeNull();
  }
}, 180_000);
