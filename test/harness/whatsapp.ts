// End-to-end helpers around real runners and the WhatsApp Web emulator: start runners as processes
// pointed at the emulator, act as the phone and its contacts, and wait for what the API shows.
import { expect, inject } from 'vitest';
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { startRunner, type RunnerProcess } from '../../scripts/lib/runner-process';
import { baseUrl, eventually, uniqueId, type client } from './api';
import { TEST_RUNNER_ENV } from './global-setup';
import { runnerToken } from './runner-tokens';

export { eventually } from './api';

const started: RunnerProcess[] = [];

export async function launchRunner(id = `runner-${randomUUID().slice(0, 6)}`, env: Record<string, string> = {}) {
  // As in production, with an outbox journal on disk; it and every log line are kept for the run's secret scan.
  const logFile = path.join(inject('logDir'), `runner-${id}.log`);
  const runner = await startRunner({
    controlPlaneUrl: baseUrl(),
    runnerToken: await runnerToken(id),
    runnerId: id,
    waWebSocketUrl: inject('emulatorUrl'),
    waTrustRoot: inject('emulatorRootPublicKey'),
    waMediaCa: inject('emulatorMediaCaFile'),
    env: { ...TEST_RUNNER_ENV, OUTBOX_DIR: path.join(inject('logDir'), 'outbox', id), LOG_LEVEL: process.env.RUNNER_LOG_LEVEL ?? 'info', ...env },
    log: (line) => {
      appendFileSync(logFile, `${line}\n`);
      if (process.env.E2E_VERBOSE) process.stderr.write(`[runner ${id}] ${line}\n`);
    },
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
/**
 * A fresh phone number per call, so that tests never share an account: the whole process id (test files run
 * in processes of their own, against one emulator) and a counter: 14 digits, one short of E.164's 15, so a
 * test can still write the number with a digit more (Brazil's ninth digit).
 */
export function phoneNumber(): string {
  counter++;
  return `1555${String(process.pid).padStart(7, '0')}${String(counter).padStart(3, '0')}`;
}


/** Who acts as the phone: the emulator's control API, or the API's /api/sandbox routes (as the dashboard does). */
export type PhoneSide = 'emulator' | 'sandbox-api';

interface ActAsPhone {
  create(number: string, name: string): Promise<void>;
  scan(number: string, qrRaw: string): Promise<void>;
}

const emulatorPhone: ActAsPhone = {
  create: async (number, name) => void (await phone('POST', '/accounts', { phone: number, name })),
  scan: async (number, qrRaw) => void (await phone('POST', `/accounts/${number}/scan`, { qr: qrRaw })),
};

const sandboxApiPhone = (t: { api: ReturnType<typeof client> }): ActAsPhone => ({
  create: async (number, name) => {
    const res = await t.api.post('/api/sandbox/phones', { phone: number, name });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toEqual({ phone: number, name, jid: `${number}@s.whatsapp.net`, devices: { count: 0, online: 0 } });
  },
  scan: async (number, qrRaw) => {
    const res = await t.api.post(`/api/sandbox/phones/${number}/scan`, { qr: qrRaw });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ phone: number, device: expect.any(Number), jid: `${number}:${res.body.device}@s.whatsapp.net` });
  },
});

/** Creates a connection for the tenant and links it by scanning its QR with a fresh emulated phone. */
export async function linkedConnection(t: { api: ReturnType<typeof client> }, via: PhoneSide = 'emulator', opts: { beforeScan?: (number: string) => Promise<void> } = {}) {
  const id = uniqueId('wa');
  const number = phoneNumber();
  const actor = via === 'emulator' ? emulatorPhone : sandboxApiPhone(t);
  await actor.create(number, `Phone ${number}`);
  await opts.beforeScan?.(number);
  expect((await t.api.post('/api/connections', { connection_id: id })).status).toBe(201);
  const qr = await eventually(async () => {
    const res = await t.api.get(`/api/get-qr/${id}?wait=10`);
    return res.body.qr_raw ? res.body : undefined;
  }, 'a QR from the runner');
  expect(qr.qr).toMatch(/^data:image\/png;base64,/);
  expect(qr.status).toBe('connecting');
  await actor.scan(number, qr.qr_raw);
  await eventually(async () => (await t.api.get(`/api/connections/${id}`)).body.status === 'connected', 'the connection to be connected');
  return { id, number };
}
