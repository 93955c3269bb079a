// Realtime fan-out: one event (a contact's message: emulator → runner → events queue → Postgres → the
// tenant's Hub) to 1,000 native WebSocket clients of one tenant, then to 200 socket.io-client v4 sockets
// (default transports, upgraded to WebSocket before measuring). The clients run in a process of their own
// (this same file, BENCH_ROLE=clients), which stamps every receipt.
//
// Per receipt: `stored_to_receipt` from the message's `created_at` (Postgres `now()` of the transaction
// that stored it, just before the Hub's publish: an upper bound on publish → receipt, and the goal's
// figure: p99 < 200 ms), `trigger_to_receipt` from the contact's send (the whole pipeline), and
// `spread` from the first receipt of that event (the fan-out alone). Loopback only; bounded by
// BENCH_TIMEOUT_MIN.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { envNumber, mapLimit, runBench, summarize, trackChild } from './lib/run.js';
import { linkConnections, startBenchRunner, startBenchStack, startEmulatorProcess } from './lib/stack.js';

const WS_CLIENTS = envNumber('BENCH_WS_CLIENTS', 1000);
const SIO_CLIENTS = envNumber('BENCH_SIO_CLIENTS', 200);
const ROUNDS = envNumber('BENCH_ROUNDS', 20);
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT_MIN', 10) * 60_000;
const GOAL_P99_MS = 200;

type ToClients =
  | { op: 'open'; kind: 'ws' | 'sio'; count: number; url: string; key: string }
  | { op: 'collect'; text: string; expected: number; timeoutMs: number }
  | { op: 'close' };
type FromClients = { op: 'opened'; count: number; upgraded: number } | { op: 'collected'; receipts: number[]; createdAt: string | null } | { op: 'error'; message: string };

// ---------------------------------------------------------------------------------------------------
// The client process.

async function clientsRole() {
  const { io } = await import('socket.io-client');
  const now = () => performance.timeOrigin + performance.now();
  const receipts = new Map<string, { at: number[]; createdAt: string | null }>();
  const closers: (() => void)[] = [];
  const record = (data: any) => {
    const text = data?.message?.message;
    if (typeof text !== 'string') return;
    const at = now();
    const r = receipts.get(text) ?? { at: [] as number[], createdAt: (data.message.created_at as string | undefined) ?? null };
    r.at.push(at);
    receipts.set(text, r);
  };
  const reply = (m: FromClients) => process.send!(m);
  process.on('message', async (m: ToClients) => {
    try {
      if (m.op === 'open' && m.kind === 'ws') {
        await mapLimit(Array.from({ length: m.count }), 50, () => new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(`${m.url.replace(/^http/, 'ws')}/api/realtime`, { headers: { authorization: `Bearer ${m.key}` }, perMessageDeflate: false });
          ws.on('message', (raw) => {
            const f = JSON.parse(raw.toString());
            if (f.event === 'new-message') record(f.data);
          });
          ws.once('open', () => resolve());
          ws.once('error', reject);
          closers.push(() => ws.terminate());
        }));
        reply({ op: 'opened', count: m.count, upgraded: m.count });
      } else if (m.op === 'open' && m.kind === 'sio') {
        const sockets = await mapLimit(Array.from({ length: m.count }), 20, () => new Promise<any>((resolve, reject) => {
          const socket = io(m.url, { auth: { token: m.key }, reconnection: false, forceNew: true });
          socket.on('new-message', record);
          socket.once('connect', () => resolve(socket));
          socket.once('connect_error', reject);
          closers.push(() => socket.disconnect());
        }));
        // Measure on WebSocket, where a socket.io-client settles within a second of connecting.
        const deadline = Date.now() + 20_000;
        while (Date.now() < deadline && sockets.some((s) => s.io.engine.transport.name !== 'websocket')) await new Promise((r) => setTimeout(r, 100));
        reply({ op: 'opened', count: m.count, upgraded: sockets.filter((s) => s.io.engine.transport.name === 'websocket').length });
      } else if (m.op === 'collect') {
        const deadline = Date.now() + m.timeoutMs;
        while (Date.now() < deadline && (receipts.get(m.text)?.at.length ?? 0) < m.expected) await new Promise((r) => setTimeout(r, 5));
        const r = receipts.get(m.text);
        receipts.delete(m.text);
        reply({ op: 'collected', receipts: r?.at ?? [], createdAt: r?.createdAt ?? null });
      } else if (m.op === 'close') {
        for (const close of closers.splice(0)) close();
        reply({ op: 'opened', count: 0, upgraded: 0 });
      }
    } catch (e) {
      reply({ op: 'error', message: e instanceof Error ? e.message : String(e) });
    }
  });
  process.send!({ op: 'ready' });
}

// ---------------------------------------------------------------------------------------------------
// The benchmark.

async function bench() {
  await runBench('realtime-fanout', TIMEOUT_MS, async (ctx) => {
    const emulator = await startEmulatorProcess(ctx);
    const stack = await startBenchStack(ctx, emulator);
    await startBenchRunner(ctx, stack, { runnerId: 'bench-fanout', capacity: 10 });
    const link = await linkConnections(ctx, stack, { prefix: 'fanout', start: 0, count: 1, concurrency: 1, budgetMs: 120_000 });
    if (link.linked.length !== 1) throw new Error(`the connection did not link: ${link.failures.join('; ')}`);
    const connection = (await stack.api<{ phone_number: string }>('GET', `/api/connections/${link.linked[0]}`)).body;
    const account = connection.phone_number.replace(/^\+/, '');
    const contact = await stack.phone<{ phone: string }>('POST', '/contacts', { name: 'Fan-out contact' });

    const child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, BENCH_ROLE: 'clients' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    trackChild(child.pid);
    ctx.defer('client process', () => child.kill('SIGKILL'));
    await new Promise<void>((resolve) => child.once('message', () => resolve()));
    const ask = (m: ToClients, timeoutMs = 120_000) =>
      new Promise<FromClients>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`client process: no answer to ${m.op}`)), timeoutMs);
        child.once('message', (r: FromClients) => {
          clearTimeout(timer);
          if (r.op === 'error') reject(new Error(r.message));
          else resolve(r);
        });
        child.send(m);
      });

    let n = 0;
    const measure = async (kind: 'ws' | 'sio', clients: number) => {
      const t0 = Date.now();
      const opened = (await ask({ op: 'open', kind, count: clients, url: stack.url, key: stack.apiKey })) as Extract<FromClients, { op: 'opened' }>;
      ctx.log(`${kind}: ${opened.count} clients open in ${Date.now() - t0} ms (${opened.upgraded} on WebSocket)`);
      const stored: number[] = [];
      const trigger: number[] = [];
      const spread: number[] = [];
      let lost = 0;
      for (let round = 0; round <= ROUNDS; round++) {
        const text = `fanout ${kind} ${++n}`;
        const sentAt = Date.now();
        await stack.phone('POST', `/contacts/${contact.phone}/messages`, { to: account, text });
        const got = (await ask({ op: 'collect', text, expected: clients, timeoutMs: 30_000 })) as Extract<FromClients, { op: 'collected' }>;
        if (round === 0) continue; // warm-up: JIT, the Hub's first wake, socket buffers
        lost += clients - got.receipts.length;
        const first = Math.min(...got.receipts);
        const createdAt = got.createdAt ? Date.parse(got.createdAt) : NaN;
        for (const at of got.receipts) {
          trigger.push(at - sentAt);
          spread.push(at - first);
          if (Number.isFinite(createdAt)) stored.push(at - createdAt);
        }
      }
      await ask({ op: 'close' });
      return { clients, upgraded: opened.upgraded, rounds: ROUNDS, lost, stored_to_receipt: summarize(stored), trigger_to_receipt: summarize(trigger), spread: summarize(spread) };
    };

    const ws = await measure('ws', WS_CLIENTS);
    const sio = await measure('sio', SIO_CLIENTS);
    const line = (label: string, r: typeof ws) =>
      `${label}: ${r.clients} clients × ${r.rounds} events, lost ${r.lost}; stored→receipt p50 ${r.stored_to_receipt.p50} / p99 ${r.stored_to_receipt.p99} ms; ` +
      `fan-out spread p50 ${r.spread.p50} / p99 ${r.spread.p99} ms; contact send→receipt p50 ${r.trigger_to_receipt.p50} / p99 ${r.trigger_to_receipt.p99} ms`;
    const met = ws.stored_to_receipt.p99 < GOAL_P99_MS && ws.lost === 0;
    return {
      parameters: { wsClients: WS_CLIENTS, sioClients: SIO_CLIENTS, rounds: ROUNDS, goalP99Ms: GOAL_P99_MS },
      figures: { native: ws, socketio: sio, goalMet: met },
      summary: [line('native WebSocket', ws), line('socket.io (upgraded)', sio), `goal (native p99 stored→receipt < ${GOAL_P99_MS} ms, none lost): ${met ? 'met' : 'NOT met'}`],
    };
  });
}

if (process.env.BENCH_ROLE === 'clients') await clientsRole();
else await bench();
