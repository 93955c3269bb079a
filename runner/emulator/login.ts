// What the server does right after the noise handshake: an unregistered companion gets QR refs
// (pair-device); a registered one is logged in with <success> (plus its offline queue) or refused
// with <failure reason>.
import { proto } from '@whiskeysockets/baileys';
import { randomBytes } from 'node:crypto';
import type { Network } from './network.js';
import type { Connection } from './session.js';
import { SERVER_JID, now, readUIntBE } from './stanzas.js';

const QR_REF_COUNT = 6;

export const acceptHandshake = (net: Network, conn: Connection, clientStatic: Buffer, payload: proto.ClientPayload) => {
  net.connections.add(conn);
  if (payload.devicePairingData) return offerQrRefs(net, conn, clientStatic, payload.devicePairingData);
  return logIn(net, conn, clientStatic, payload);
};

const offerQrRefs = (net: Network, conn: Connection, clientStatic: Buffer, pd: proto.ClientPayload.IDevicePairingRegistrationData) => {
  if (!pd.eIdent || !pd.eSkeyVal || !pd.eSkeySig) throw new Error('registration payload without keys');
  let platform = 'Chrome';
  try {
    const props = proto.DeviceProps.decode(pd.deviceProps ?? new Uint8Array());
    platform = props.os || platform;
  } catch {
    // deviceProps is informational; keep the default.
  }
  conn.registration = {
    noiseKey: clientStatic,
    identity: Buffer.from(pd.eIdent),
    registrationId: readUIntBE(Buffer.from(pd.eRegid ?? [])),
    signedPreKey: { keyId: readUIntBE(Buffer.from(pd.eSkeyId ?? [])), public: Buffer.from(pd.eSkeyVal), signature: Buffer.from(pd.eSkeySig) },
    platform,
  };
  const refs = Array.from({ length: QR_REF_COUNT }, () => `2@${randomBytes(24).toString('base64')}`);
  for (const ref of refs) net.qrRefs.set(ref, conn);
  conn
    .query({
      tag: 'iq',
      attrs: { type: 'set', xmlns: 'md', from: SERVER_JID },
      content: [{ tag: 'pair-device', attrs: {}, content: refs.map(ref => ({ tag: 'ref', attrs: {}, content: Buffer.from(ref) })) }],
    })
    .catch(() => {});
};

const refuse = (conn: Connection, reason: number) => {
  conn.send({ tag: 'failure', attrs: { reason: String(reason), location: 'emulator' } });
  conn.end();
};

const logIn = (net: Network, conn: Connection, clientStatic: Buffer, payload: proto.ClientPayload) => {
  const phone = String(payload.username ?? '');
  const deviceId = Number(payload.device ?? 0);
  const account = net.accounts.get(phone);
  const device = account?.devices.get(deviceId);
  if (!account || !device || !device.noiseKey.equals(clientStatic)) return refuse(conn, 401);
  const refusal = net.policy(phone).refuseLoginReason;
  if (refusal) return refuse(conn, refusal);

  // One stream per device: an older one is replaced, as WhatsApp does.
  for (const old of net.connectionsOf(account, deviceId)) old.streamError('conflict');
  conn.account = account;
  conn.device = device;
  conn.send({
    tag: 'success',
    attrs: {
      t: String(now()),
      props: '1',
      abprops: '1',
      location: 'emulator',
      creation: String(Math.floor(device.linkedAt / 1000)),
      lid: account.deviceLid(deviceId),
    },
  });
  const queued = net.sendOfflineQueue(conn, device);
  conn.send({ tag: 'ib', attrs: { from: SERVER_JID }, content: [{ tag: 'offline', attrs: { count: String(queued) } }] });
};
