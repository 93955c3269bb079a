// Starts an emulator: one HTTP server carrying the WhatsApp Web socket (/ws/chat) and the
// control API (/control/...). In-memory by default; with dataFile, state is loaded and saved.
import { Curve } from '@whiskeysockets/baileys';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { buildServerIdentity } from './certificates.js';
import { makeControlApi } from './control-api.js';
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
};

export type RunningEmulator = {
  /** ws://host:port/ws/chat — pass as Baileys' waWebSocketUrl. */
  url: string;
  /** http://host:port/control */
  controlUrl: string;
  /** Base64 of the root public key (WA_TRUST_ROOT for the runner; see trust.ts). */
  rootPublicKey: string;
  network: Network;
  close(): Promise<void>;
};

let processRoot: KeyPair | undefined;
const defaultRoot = () => (processRoot ??= Curve.generateKeyPair());

type Snapshot = { root: KeyPair; network: ReturnType<Network['toJSON']> };
const SAVE_DEBOUNCE_MS = 200;

export const startEmulator = async (opts: EmulatorOptions = {}): Promise<RunningEmulator> => {
  const host = opts.host ?? '127.0.0.1';
  const net = new Network();
  const saved = opts.dataFile ? loadSnapshot<Snapshot>(opts.dataFile) : undefined;
  const root = opts.rootKey ?? saved?.root ?? defaultRoot();
  if (saved) net.restore(saved.network);

  let saveTimer: NodeJS.Timeout | undefined;
  const save = () => opts.dataFile && saveSnapshot(opts.dataFile, { root, network: net.toJSON() } satisfies Snapshot);
  if (opts.dataFile) {
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
  const control = makeControlApi(net, () => ({ url, controlUrl, rootPublicKey }));

  const http = createServer((req, res) => {
    if ((req.url ?? '').startsWith('/control')) void control(req, res);
    else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 404, message: 'not found' } }));
    }
  });
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').split('?')[0] !== '/ws/chat') return socket.destroy();
    wss.handleUpgrade(req, socket, head, ws => new Connection(ws, identity, router));
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  url = `ws://${host}:${port}/ws/chat`;
  controlUrl = `http://${host}:${port}/control`;

  return {
    url,
    controlUrl,
    rootPublicKey,
    network: net,
    async close() {
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
