// End-to-end helpers around real runners and the WhatsApp Web emulator: start runners as processes
// pointed at the emulator, act as the phone and its contacts, and wait for what the API shows.
import { expect, inject } from 'vitest';
import { randomUUID } from 'node:crypto';
import { startRunner, type RunnerProcess } from '../../scripts/lib/runner-process';
import { baseUrl, eventually, uniqueId, type client } from './api';

export { eventually } from './api';

const started: RunnerProcess[] = [];

export async function launchRunner(id = `runner-${randomUUID().slice(0, 6)}`, env: Record<string, string> = {}) {
  const runner = await startRunner({
    controlPlaneUrl: baseUrl(),
    runnerToken: inject('runnerToken'),
    runnerId: id,
    waWebSocketUrl: inject('emulatorUrl'),
    waTrustRoot: inject('emulatorRootPublicKey'),
    waMediaCa: inject('emulatorMediaCaFile'),
    env,
    log: process.env.E2E_VERBOSE ? undefined : () => {},
  });
  started.push(runner);
  return runner;
}

/** Runners this file started, in order. */
export const runnersStarted = () => [...started];

/** Kills every runner this file started (afterAll). */
export async function stopRunners() {
  await Promise.all(started.splice(0).map((r) => r.stop(5_000)));
}

/** The emulator's control API: the phone and its contacts. */
export async function phone<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${inject('emulatorControlUrl')}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`emulator ${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

let counter = 0;
/** A fresh phone number per call, so that tests never share an account. */
export function phoneNumber(): string {
  counter++;
  return `1555${String(process.pid % 1000).padStart(3, '0')}${String(counter).padStart(4, '0')}`;
}


/** Creates a connection for the tenant and links it by scanning its QR with a fresh emulated phone. */
export async function linkedConnection(t: { api: ReturnType<typeof client> }) {
  const id = uniqueId('wa');
  const number = phoneNumber();
  await phone('POST', '/accounts', { phone: number, name: `Phone ${number}` });
  expect((await t.api.post('/api/connections', { connection_id: id })).status).toBe(201);
  const qr = await eventually(async () => {
    const res = await t.api.get(`/api/get-qr/${id}?wait=10`);
    return res.body.qr_raw ? res.body : undefined;
  }, 'a QR from the runner');
  expect(qr.qr).toMatch(/^data:image\/png;base64,/);
  expect(qr.status).toBe('connecting');
  await phone('POST', `/accounts/${number}/scan`, { qr: qr.qr_raw });
  await eventually(async () => (await t.api.get(`/api/connections/${id}`)).body.status === 'connected', 'the connection to be connected');
  return { id, number };
}
