// A WhatsApp server that cannot prove who it is gets nothing: the emulator serves forged certificate
// chains (a random or all-zero signature, a forged leaf, a correctly signed leaf for another key, an expired
// or not-yet-valid chain, a leaf from another issuer) and a real runner refuses each one before any QR,
// saying why (`untrusted_server`); served the honest chain again, the same connection links. At pairing, an
// account signature that does not verify (random, all zero, by another key) is refused the same way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certChainFaults } from '../../runner/emulator/certificates';
import { pairingSignatureFaults } from '../../runner/emulator/pairing';
import { closeDatabase, eventually, newTenant, uniqueId } from '../harness/api';
import { launchRunner, phone, phoneNumber, stopRunners } from '../harness/whatsapp';

let t: Awaited<ReturnType<typeof newTenant>>;
const serve = (certChain: string) => phone('POST', '/settings', { certChain });

beforeAll(async () => {
  await launchRunner();
  t = await newTenant('untrusted');
});

afterAll(async () => {
  await serve('honest');
  await stopRunners();
  await closeDatabase();
});

const connection = async (id: string) => (await t.api.get(`/api/connections/${id}`)).body;

describe('forged WhatsApp servers', () => {
  it.each(certChainFaults)('a chain with %s: no QR, status disconnected / untrusted_server', async (fault) => {
    await serve(fault);
    const id = uniqueId('forged');
    expect((await t.api.post('/api/connections', { connection_id: id })).status).toBe(201);
    // get-qr stops waiting as soon as the session it started has ended, and says why.
    const qr = await t.api.get(`/api/get-qr/${id}?wait=20`);
    expect(qr.status).toBe(200);
    expect(qr.body).toMatchObject({ qr: null, qr_raw: null, status: 'disconnected', status_reason: 'untrusted_server' });
    const refused = await eventually(async () => {
      const c = await connection(id);
      return c.status_reason === 'untrusted_server' ? c : undefined;
    }, 'the runner to refuse the server');
    expect(refused.status).toBe('disconnected');
    // It stays refused: no retry loop into the forged server; asked again, it tries afresh and refuses again.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await connection(id)).toMatchObject({ status: 'disconnected', status_reason: 'untrusted_server' });
    const again = Date.now();
    expect((await t.api.get(`/api/get-qr/${id}?wait=20`)).body).toMatchObject({ qr: null, status: 'disconnected', status_reason: 'untrusted_server' });
    expect(Date.now() - again).toBeLessThan(15_000);
  });

  it('served the honest chain again, the same kind of connection links', async () => {
    await serve('honest');
    const id = uniqueId('honest');
    const number = phoneNumber();
    await phone('POST', '/accounts', { phone: number, name: 'Honest phone' });
    expect((await t.api.post('/api/connections', { connection_id: id })).status).toBe(201);
    const qr = await eventually(async () => {
      const res = await t.api.get(`/api/get-qr/${id}?wait=10`);
      return res.body.qr_raw ? res.body : undefined;
    }, 'a QR from the runner');
    await phone('POST', `/accounts/${number}/scan`, { qr: qr.qr_raw });
    await eventually(async () => (await connection(id)).status === 'connected', 'the connection to link');
  });

  it.each(pairingSignatureFaults)('an account signature at pairing with %s: the link is refused, nothing is stored as linked', async (fault) => {
    await serve('honest');
    await phone('POST', '/settings', { pairingSignature: fault });
    try {
      const id = uniqueId('forged-pairing');
      const number = phoneNumber();
      await phone('POST', '/accounts', { phone: number, name: 'Forged pairing' });
      expect((await t.api.post('/api/connections', { connection_id: id })).status).toBe(201);
      const qr = await eventually(async () => {
        const res = await t.api.get(`/api/get-qr/${id}?wait=10`);
        return res.body.qr_raw ? res.body : undefined;
      }, 'a QR from the runner');
      // The companion hangs up instead of answering the link, so the phone's scan fails ...
      await expect(phone('POST', `/accounts/${number}/scan`, { qr: qr.qr_raw })).rejects.toThrow(/hung up/);
      // ... and the connection stops, says why, and never took the identity it was offered.
      const refused = await eventually(async () => {
        const c = await connection(id);
        return c.status_reason === 'untrusted_server' ? c : undefined;
      }, 'the runner to refuse the link');
      expect(refused).toMatchObject({ status: 'disconnected', phone_number: null });
      await new Promise((r) => setTimeout(r, 1500));
      expect(await connection(id)).toMatchObject({ status: 'disconnected', status_reason: 'untrusted_server', phone_number: null });
    } finally {
      await phone('POST', '/settings', { pairingSignature: 'honest' });
    }
  });

  it('the emulator refuses a chain kind it does not know', async () => {
    await expect(serve('made-up')).rejects.toThrow(/400/);
  });
});
