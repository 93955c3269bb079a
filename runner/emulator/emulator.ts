// Starts an emulator: one HTTP server carrying the WhatsApp Web socket (/ws/chat) and the
// control API (/control/...), plus the HTTPS media host (its own port and certificate authority).
// In-memory by default; with dataFile, state (and the media CA) is loaded and saved.
import { Curve } from '@whiskeysockets/baileys';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { WebSocketServer } from 'ws';
import { dropLibsignalChatter } from '../library-console.js';
import { buildServerIdentity, forgeCertChain } from './certificates.js';
import { makeControlApi } from './control-api.js';
import { startMediaServer } from './media.js';
import { createMediaCa, isValidCa, type MediaCa } from './media-ca.js';
import { Network } from './network.js';
import type { KeyPair } from './noise.js';
import { loadSnapshot, saveSnapshot } from './persistence.js';
import { makeRouter } from './router.js';
import { Connection } from './session.js';

export type EmulatorOptions = {
  port?: number;
  host?: string;
  /** JSON file to load state from and save it to (debounced). */
  dataFile?: string;
  /** Root signing key; defaults to one generated per process (so in-process emulators share it). */
  rootKey?: KeyPair;
  /** Port of the HTTPS media host (0 / unset: a free one). */
  mediaPort?: number;
  /** Write the media CA certificate (PEM) here, for a runner's WA_MEDIA_CA. */
  mediaCaFile?: string;
  /** Memory bound of the media store (oldest blobs are evicted first). */
  mediaStoreBytes?: number;
};

export type RunningEmulator = {
  /** ws://host:port/ws/chat — pass as Baileys' waWebSocketUrl. */
  url: string;
  /** http://host:port/control */
  controlUrl: string;
  /** Base64 of the root public key (WA_TRUST_ROOT for the runner; see trust.ts). */
  rootPublicKey: string;
  /** https://host:port of the media host. */
  mediaUrl: string;
  /** PEM of the CA that signed the media host's certificate (what WA_MEDIA_CA points to). */
  mediaCaPem: string;
  /** Where the PEM was written, when mediaCaFile was given. */
  mediaCaFile?: string;
  network: Network;
  close(): Promise<void>;
};

let processRoot: KeyPair | undefined;
const defaultRoot = () => (processRoot ??= Curve.generateKeyPair());

type Snapshot = { root: KeyPair; mediaCa?: MediaCa; network: ReturnType<Network['toJSON']> };
const SAVE_DEBOUNCE_MS = 200;

export const startEmulator = async (opts: EmulatorOptions = {}): Promise<RunningEmulator> => {
  // Its phones and contacts run libsignal, which prints every session record it closes or opens.
  dropLibsignalChatter();
  const host = opts.host ?? '127.0.0.1';
  const net = new Network({ mediaStoreBytes: opts.mediaStoreBytes });
  const saved = opts.dataFile ? loadSnapshot<Snapshot>(opts.dataFile) : undefined;
  const root = opts.rootKey ?? saved?.root ?? defaultRoot();
  if (saved) net.restore(saved.network);
  // Kept with the state, so a runner that trusts it keeps uploading after an emulator restart.
  const mediaCa = isValidCa(saved?.mediaCa) ? saved.mediaCa : createMediaCa();
  const caIsNew = mediaCa !== saved?.mediaCa;

  let saveTimer: NodeJS.Timeout | undefined;
  const save = () => opts.dataFile && saveSnapshot(opts.dataFile, { root, mediaCa, network: net.toJSON() } satisfies Snapshot);
  if (opts.dataFile) {
    if (caIsNew) save();
    net.onChange = () => {
      saveTimer ??= setTimeout(() => {
        saveTimer = undefined;
        save();
      }, SAVE_DEBOUNCE_MS);
    };
  }

  const identity = buildServerIdentity(root);
  const router = makeRouter(net);
  const rootPublicKey = Buffer.from(root.public).toString('base64');
  let url = '';
  let controlUrl = '';
  let mediaUrl = '';
  const control = makeControlApi(net, () => ({ url, controlUrl, rootPublicKey, mediaUrl }), { mediaCaPem: mediaCa.certPem });

  const http = createServer((req, res) => {
    if ((req.url ?? '').startsWith('/control')) void control(req, res);
    else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 404, message: 'not found' } }));
    }
  });
  // Clients (undici's fetch) drop idle keep-alive sockets after about 4 s. A server that closes them first
  // races a client reusing one: its request meets a reset (ECONNRESET), which a burst that keeps this
  // process busy for seconds made routine. The client always closes first this way.
  http.keepAliveTimeout = 65_000;
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').split('?')[0] !== '/ws/chat') return socket.destroy();
    wss.handleUpgrade(req, socket, head, ws => {
      const served = net.certChain === 'honest' ? identity : { ...identity, certChain: forgeCertChain(identity, net.certChain) };
      new Connection(ws, served, router);
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  url = `ws://${host}:${port}/ws/chat`;
  controlUrl = `http://${host}:${port}/control`;
  const media = await startMediaServer(net.media, { ca: mediaCa, host, port: opts.mediaPort }).catch(async err => {
    http.close();
    throw err;
  });
  mediaUrl = media.url;
  if (opts.mediaCaFile) {
    mkdirSync(dirname(opts.mediaCaFile), { recursive: true });
    writeFileSync(opts.mediaCaFile, mediaCa.certPem);
  }

  return {
    url,
    controlUrl,
    rootPublicKey,
    mediaUrl,
    mediaCaPem: mediaCa.certPem,
    ...(opts.mediaCaFile ? { mediaCaFile: opts.mediaCaFile } : {}),
    network: net,
    async close() {
      await media.close();
      for (const conn of net.connections) conn.drop();
      for (const client of wss.clients) client.terminate();
      clearTimeout(saveTimer);
      save();
      await new Promise<void>(resolve => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>(resolve => http.close(() => resolve()));
    },
  };
};
