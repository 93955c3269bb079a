// WhatsApp auth state at rest, through the real stack: sealed in R2 under a named key and bound to its
// object key, carried through a key rotation without a new QR, and never re-created by a late write of
// the old holder after a logout or a delete. A stack of its own (like restore.test.ts), to restart it
// with other keys and to look into its R2 bucket directly.
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, expect, it } from 'vitest';
import { connections } from '../../drizzle/schema';
import { freePort } from '../../scripts/lib/ports';
import { startStack, type Stack } from '../../scripts/lib/stack';
import { sealedKeyId } from '../../worker/secrets/envelope';
import { closeDatabase, database, newTenant, uniqueId } from '../harness/api';
import { apiAt, ownControlPlane, ownDataDir, ownRunner, stopOwn } from '../harness/own-stack';
import { runnerToken } from '../harness/runner-tokens';
import { eventually, phone, phoneNumber } from '../harness/whatsapp';

afterAll(async () => {
  await stopOwn();
  await closeDatabase();
});

const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const K1 = key('k1');
const K2 = key('k2');

const controlPlane = (dataDir: string, port: number, authStateKeys: string) => ownControlPlane(dataDir, port, { AUTH_STATE_KEYS: authStateKeys });

/** Every object of a connection's auth state: its key, the key id it names, its bytes. */
async function storedObjects(stack: Stack, pk: string) {
  const bucket = await stack.r2Bucket!('SESSIONS');
  const listed = await bucket.list({ prefix: `auth/${pk}/`, include: ['customMetadata'] });
  return Promise.all(
    listed.objects.map(async (o) => {
      const bytes = new Uint8Array(await (await bucket.get(o.key))!.arrayBuffer());
      return { key: o.key, keyId: sealedKeyId(bytes), metadataKeyId: o.customMetadata?.key_id, bytes };
    }),
  );
}

// The layout of worker/internal/auth-store.ts (not imported: it is Worker code).
const deltaKey = (pk: string, seq: number) => `auth/${pk}/delta/${String(seq).padStart(12, '0')}`;

const pkOf = async (connectionId: string) =>
  (await database().select({ id: connections.id, epoch: connections.leaseEpoch }).from(connections).where(eq(connections.connectionId, connectionId)))[0]!;

it('seals auth state under a named key bound to its object, survives a rotation, and refuses late writes after logout and delete', async () => {
  const dataDir = await ownDataDir('auth-keys');
  const port = await freePort();
  let stack = await controlPlane(dataDir, port, K1);
  let holder = await ownRunner(stack.url, 'keys-a');

  const t = await newTenant('auth-keys');
  const api = apiAt(() => stack.url, t.apiKey);
  const asRunner = async (runnerId: string, method: string, pk: string, query: string, body?: unknown) =>
    fetch(`${stack.url}/internal/sessions/${pk}/auth${query}`, {
      method,
      headers: { authorization: `Bearer ${await runnerToken(runnerId)}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: r.status === 204 ? null : ((await r.json()) as any) }));

  // A linked connection, and a second one never started (epoch 0).
  const linked = uniqueId('keys');
  const other = uniqueId('keys-other');
  const number = phoneNumber();
  await phone('POST', '/accounts', { phone: number, name: 'Keys' });
  expect((await api('POST', '/api/connections', { connection_id: linked })).status).toBe(201);
  expect((await api('POST', '/api/connections', { connection_id: other })).status).toBe(201);
  const qr = await eventually(async () => {
    const res = await api('GET', `/api/get-qr/${linked}?wait=10`);
    return res.body.qr_raw ? res.body : undefined;
  }, 'a QR');
  await phone('POST', `/accounts/${number}/scan`, { qr: qr.qr_raw });
  await eventually(async () => (await api('GET', `/api/connections/${linked}`)).body.status === 'connected', 'connected');
  const { id: pk } = await pkOf(linked);
  const { id: otherPk } = await pkOf(other);

  // Sealed, under k1, with no trace of the JSON the runner sent.
  const sealed = await eventually(async () => {
    const objects = await storedObjects(stack, pk);
    return objects.length ? objects : undefined;
  }, 'stored auth state');
  for (const o of sealed) {
    expect(o).toMatchObject({ keyId: 'k1', metadataKeyId: 'k1' });
    expect(Buffer.from(o.bytes).includes(Buffer.from('noiseKey'))).toBe(false);
  }

  // Moved to another place, it does not open there: as a later delta of the same connection (what its holder
  // may read), and under another connection (which the delete below must remove all the same).
  const bucket = await stack.r2Bucket!('SESSIONS');
  const snapshot = sealed[0]!; // the snapshot, or the first delta when none was written yet
  await bucket.put(deltaKey(pk, 999_999_999), snapshot.bytes, { customMetadata: { seq: '999999999', key_id: 'k1' } });
  const moved = await asRunner('keys-a', 'GET', pk, `?epoch=${(await pkOf(linked)).epoch}`);
  expect(moved.status).toBe(500);
  expect(moved.body.error.code).toBe('auth_state_unreadable');
  await bucket.delete(deltaKey(pk, 999_999_999));
  await bucket.put(snapshot.key.replace(pk, otherPk), snapshot.bytes, { customMetadata: { seq: '1', key_id: 'k1' } });

  // Rotation: the new key first, the old one still listed. The connection comes back without a QR, and
  // loading it re-seals its objects under k2.
  expect(await holder.stop(30_000)).toBe(0);
  await stack.stop();
  stack = await controlPlane(dataDir, port, `${K2},${K1}`);
  holder = await ownRunner(stack.url, 'keys-b');
  await eventually(async () => (await api('GET', `/api/connections/${linked}`)).body.status === 'connected', 'connected after the rotation', 60_000);
  expect((await api('GET', `/api/get-qr/${linked}?wait=0`)).body.qr).toBeNull();
  await eventually(async () => (await storedObjects(stack, pk)).every((o) => o.keyId === 'k2'), 'every object re-sealed under k2');

  // The old key dropped: still linked, still no QR.
  expect(await holder.stop(30_000)).toBe(0);
  await stack.stop();
  stack = await controlPlane(dataDir, port, K2);
  holder = await ownRunner(stack.url, 'keys-c');
  await eventually(async () => (await api('GET', `/api/connections/${linked}`)).body.status === 'connected', 'connected under k2 alone', 60_000);
  expect((await api('GET', `/api/get-qr/${linked}?wait=0`)).body.qr).toBeNull();

  // Logout: the old holder's late flush, at its epoch, is refused and nothing reappears.
  const { epoch } = await pkOf(linked);
  expect((await api('POST', `/api/connections/${linked}/logout`)).status).toBe(200);
  const late = await asRunner('keys-c', 'POST', pk, '', { runner_id: 'keys-c', epoch, kind: 'snapshot', seq: 10_000, data: '{"creds":{}}' });
  // Fenced whichever way the race goes: by the raised epoch, as no longer its holder (the Scheduler took the
  // lease back), or as no lease at all (the Scheduler has dropped the logged-out connection); the runner
  // stops writing on each (runner/auth-state.ts).
  expect([`403 stale_epoch`, `403 not_lease_holder`, `404 connection_not_found`]).toContain(`${late.status} ${late.body.error?.code}`);
  expect(await storedObjects(stack, pk)).toEqual([]);

  // Delete: its auth state (the copied object) goes with it, and a late write cannot bring it back.
  expect((await storedObjects(stack, otherPk)).length).toBe(1);
  expect((await api('DELETE', `/api/connections/${other}`)).status).toBe(200);
  expect(await storedObjects(stack, otherPk)).toEqual([]);
  const afterDelete = await asRunner('keys-c', 'POST', otherPk, '', { runner_id: 'keys-c', epoch: 0, kind: 'delta', seq: 1, data: '{"keys":{}}' });
  expect([403, 404]).toContain(afterDelete.status);
  expect(await storedObjects(stack, otherPk)).toEqual([]);
}, 300_000);

it('without a key the auth-state routes refuse with 503 and store nothing', async () => {
  const dataDir = await ownDataDir('no-key');
  const stack = await controlPlane(dataDir, await freePort(), '');
  const t = await newTenant('no-key');
  const id = uniqueId('nokey');
  const created = await fetch(`${stack.url}/api/connections`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ connection_id: id }),
  });
  expect(created.status).toBe(201);
  const { id: pk } = await pkOf(id);
  const write = await fetch(`${stack.url}/internal/sessions/${pk}/auth`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await runnerToken('r')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ runner_id: 'r', epoch: 0, kind: 'snapshot', seq: 1, data: '{"creds":{}}' }),
  });
  expect(write.status).toBe(503);
  expect(((await write.json()) as any).error.code).toBe('server_misconfigured');
  expect(await storedObjects(stack, pk)).toEqual([]);
}, 120_000);
