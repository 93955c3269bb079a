// Helpers for driving real Baileys against an emulator in tests and benchmarks: in-memory auth
// state, a socket factory with quiet logging and no history-sync wait, and event waiting.
import makeWASocket, { initAuthCreds, type AuthenticationCreds, type BaileysEventMap, type SignalDataTypeMap, type WASocket } from '@whiskeysockets/baileys';
import pino from 'pino';

export type MemoryAuth = {
  creds: AuthenticationCreds;
  keys: Map<string, unknown>;
};

export const memoryAuth = (): MemoryAuth => ({ creds: initAuthCreds(), keys: new Map() });

export const connectGateway = (url: string, auth: MemoryAuth, opts: Partial<Parameters<typeof makeWASocket>[0]> = {}): WASocket => {
  const sock = makeWASocket({
    waWebSocketUrl: url,
    logger: pino({ level: process.env.EMULATOR_TEST_LOG ?? 'silent' }) as never,
    // Without this Baileys holds events up to 20 s after login waiting for a history sync.
    shouldSyncHistoryMessage: () => false,
    connectTimeoutMs: 10_000,
    qrTimeout: 30_000,
    auth: {
      creds: auth.creds,
      keys: {
        get: async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) => {
          const out: { [id: string]: SignalDataTypeMap[T] } = {};
          for (const id of ids) {
            const v = auth.keys.get(`${type}:${id}`);
            if (v !== undefined) out[id] = v as SignalDataTypeMap[T];
          }
          return out;
        },
        set: async data => {
          for (const [type, entries] of Object.entries(data)) {
            for (const [id, value] of Object.entries(entries ?? {})) {
              if (value === null || value === undefined) auth.keys.delete(`${type}:${id}`);
              else auth.keys.set(`${type}:${id}`, value);
            }
          }
        },
      },
    },
    ...opts,
  });
  sock.ev.on('creds.update', update => Object.assign(auth.creds, update));
  return sock;
};

/** Resolves with the first event payload matching `predicate`, or rejects after `timeoutMs`. */
export const waitForEvent = <E extends keyof BaileysEventMap>(
  sock: WASocket,
  event: E,
  predicate: (data: BaileysEventMap[E]) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<BaileysEventMap[E]> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.ev.off(event, listener);
      reject(new Error(`timed out waiting for ${event}`));
    }, timeoutMs);
    const listener = (data: BaileysEventMap[E]) => {
      if (!predicate(data)) return;
      clearTimeout(timer);
      sock.ev.off(event, listener);
      resolve(data);
    };
    sock.ev.on(event, listener);
  });

/** Status code Baileys attached to a connection close. */
export const closeCode = (update: BaileysEventMap['connection.update']): number | undefined =>
  (update.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode;

export const control = async <T = unknown>(controlUrl: string, method: string, path: string, body?: unknown): Promise<T> => {
  const res = await fetch(`${controlUrl}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
  return json;
};

export type LinkedGateway = { sock: WASocket; auth: MemoryAuth; restartCode: number | undefined };

/** Full QR flow with real Baileys: QR shown → phone scans → 515 → reconnect → open. */
export const linkByQr = async (
  emulator: { url: string; controlUrl: string },
  phone: string,
  auth: MemoryAuth = memoryAuth(),
  opts: Partial<Parameters<typeof makeWASocket>[0]> = {},
): Promise<LinkedGateway> => {
  const first = connectGateway(emulator.url, auth, opts);
  const { qr } = await waitForEvent(first, 'connection.update', u => !!u.qr);
  const closed = waitForEvent(first, 'connection.update', u => u.connection === 'close');
  await control(emulator.controlUrl, 'POST', `/accounts/${phone}/scan`, { qr });
  const restartCode = closeCode(await closed);
  const sock = connectGateway(emulator.url, auth, opts);
  await waitForEvent(sock, 'connection.update', u => u.connection === 'open');
  return { sock, auth, restartCode };
};

/** Polls `check` until it returns a value other than undefined. */
export const eventually = async <T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, everyMs = 25): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise(r => setTimeout(r, everyMs));
  }
};
