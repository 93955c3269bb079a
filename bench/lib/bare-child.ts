// Bare Baileys for the baselines: a child process (started by bare.ts with --expose-gc) holding N
// makeWASocket sessions with in-memory auth, linked to emulator accounts by QR. Driven over IPC, so
// that its RSS is Baileys' alone. Exits when its parent goes away.
import { downloadMediaMessage, type WASocket } from '@whiskeysockets/baileys';
import { readFileSync } from 'node:fs';
import { mediaTrustOptions } from '../../runner/emulator/trust.js';
import { trustEmulatorRoot } from '../../runner/emulator/trust.js';
import { closeCode, connectGateway, control, linkByQr, memoryAuth, waitForEvent, type MemoryAuth } from '../../runner/emulator/testing.js';
import type { BareRequest } from './bare.js';
import { dropLibsignalChatter } from '../../runner/library-console.js';
import { serveIpc } from './ipc-child.js';

const url = process.env.BENCH_EMULATOR_URL!;
const controlUrl = process.env.BENCH_EMULATOR_CONTROL_URL!;
trustEmulatorRoot(process.env.BENCH_EMULATOR_ROOT!);
const emulator = { url, controlUrl };
const mediaOptions = process.env.BENCH_MEDIA_CA_FILE ? mediaTrustOptions(readFileSync(process.env.BENCH_MEDIA_CA_FILE, 'utf8')).options : undefined;
// As the runner opens its sockets: not marked online, no history to wait for.
const socketOpts = { markOnlineOnConnect: false };

type Session = { phone: string; auth: MemoryAuth; sock: WASocket | undefined };
const sessions: Session[] = [];

/** What bare Baileys received live, for the inbound benchmark: each text with its arrival time. */
const received: { text: string; at: number }[] = [];
function recordReceived(sock: WASocket) {
  sock.ev.on('messages.upsert', ({ messages, type }) => {
    if (type !== 'notify') return;
    const at = Date.now();
    for (const m of messages) {
      const text = m.message?.conversation ?? m.message?.extendedTextMessage?.text;
      if (!m.key.fromMe && text) received.push({ text, at });
      // The media floor: Baileys' own streaming download of the file, read to its end, nothing stored.
      const file = m.message?.imageMessage ?? m.message?.documentMessage;
      if (mediaOptions && !m.key.fromMe && file?.caption) {
        void (async () => {
          const stream = (await downloadMediaMessage(m, 'stream', { options: mediaOptions } as never)) as AsyncIterable<Buffer>;
          for await (const _chunk of stream) void _chunk;
          received.push({ text: file.caption!, at: Date.now() });
        })().catch(err => process.stderr.write(`bare download failed: ${(err as Error).message}\n`));
      }
    }
  });
}

// Like the runner, bare Baileys here does not print every session record libsignal closes (the runner logs them at debug).
dropLibsignalChatter();
serveIpc(handle);

async function mapLimit<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function handle(msg: BareRequest): Promise<unknown> {
  switch (msg.op) {
    case 'gc': {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error('run with --expose-gc');
      gc();
      await new Promise((r) => setTimeout(r, 200));
      gc();
      return process.memoryUsage();
    }
    case 'link': {
      const start = performance.now();
      const failures: string[] = [];
      await mapLimit(
        Array.from({ length: msg.count }, (_, i) => i),
        msg.concurrency,
        async () => {
          for (let attempt = 1; ; attempt++) {
            try {
              const { phone } = await control<{ phone: string }>(controlUrl, 'POST', '/accounts', { name: 'Bare bench' });
              const auth = memoryAuth();
              const { sock } = await linkByQr(emulator, phone, auth, socketOpts);
              recordReceived(sock);
              sessions.push({ phone, auth, sock });
              return;
            } catch (e) {
              if (attempt >= 3) return void failures.push((e as Error).message);
            }
          }
        },
      );
      return { linked: sessions.length, failures, ms: performance.now() - start };
    }
    case 'send': {
      const sock = sessions[0]?.sock;
      if (!sock) throw new Error('no open session');
      const t0 = performance.now();
      let ackMs = NaN;
      const id = `BARE${Date.now().toString(16).toUpperCase()}${Math.random().toString(16).slice(2, 10).toUpperCase()}`;
      const acked = new Promise<void>((resolve) => {
        const listener = (node: { attrs: { id?: string } }) => {
          if (node.attrs.id !== id) return;
          ackMs = performance.now() - t0;
          sock.ws.off('CB:ack,class:message', listener);
          resolve();
        };
        sock.ws.on('CB:ack,class:message', listener);
      });
      await sock.sendMessage(msg.to, { text: msg.text }, { messageId: id });
      const sendMs = performance.now() - t0;
      await Promise.race([acked, new Promise((r) => setTimeout(r, 5000))]);
      return { sendMs, ackMs };
    }
    case 'restore': {
      // Every session re-logs in from its saved creds, at most `concurrency` handshakes at a time (a slot
      // is held from socket creation until open or close, as the runner's login semaphore does).
      for (const s of sessions) s.sock?.end(undefined);
      for (const s of sessions) s.sock = undefined;
      await new Promise((r) => setTimeout(r, 2000));
      const start = performance.now();
      const failures: string[] = [];
      await mapLimit(sessions, msg.concurrency, async (s) => {
        for (let attempt = 1; ; attempt++) {
          const sock = connectGateway(url, s.auth, socketOpts);
          const update = await waitForEvent(sock, 'connection.update', (u) => u.connection === 'open' || u.connection === 'close', 45_000).catch(
            (e: Error) => ({ connection: 'close' as const, error: e.message }),
          );
          if (update.connection === 'open') return void (s.sock = sock);
          sock.end(undefined);
          if (attempt >= 3) return void failures.push(`close ${'lastDisconnect' in update ? closeCode(update) : 'timeout'}`);
        }
      });
      return { opened: sessions.filter((s) => s.sock).length, failures, ms: performance.now() - start };
    }
    case 'phones':
      return sessions.map((s) => s.phone);
    case 'take-received':
      return received.splice(0);
    case 'close': {
      for (const s of sessions) s.sock?.end(undefined);
      return sessions.length;
    }
  }
}
