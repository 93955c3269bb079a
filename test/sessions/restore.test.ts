// Restore on restart: stop every runner and the control plane, start them again, and every linked
// connection comes back without a new QR (auth state from R2, leases from the Scheduler's storage).
import { afterAll, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/ports';
import { closeDatabase, newTenant, uniqueId } from '../harness/api';
import { apiAt, ownControlPlane, ownDataDir, ownRunner, stopOwn } from '../harness/own-stack';
import { eventually, phone, phoneNumber } from '../harness/whatsapp';

afterAll(async () => {
  await stopOwn();
  await closeDatabase();
});

it('every linked connection returns after the runners and the Worker restart, with no QR', async () => {
  const dataDir = await ownDataDir('restore');
  const port = await freePort();
  let stack = await ownControlPlane(dataDir, port);
  const first = await ownRunner(stack.url, 'restore-a');

  const t = await newTenant('restore');
  const api = apiAt(() => stack.url, t.apiKey);

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
  stack = await ownControlPlane(dataDir, port);
  await ownRunner(stack.url, 'restore-b');
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
