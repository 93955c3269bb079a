// The runner's links to a sharded Scheduler, against a plain WebSocket server that answers as the control
// plane does: shard 0's welcome names the count, the runner dials the rest, and every frame finds its shard.
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ControlToRunner, RunnerToControl } from '../protocol/runner.js';
import { shardOf } from '../protocol/shards.js';
import { ShardLinks, type ShardLinksOptions } from './shard-links.js';

const IN_SHARD_0 = '00000000-0000-4000-8000-000000000000';
const IN_SHARD_1 = '00000001-0000-4000-8000-000000000000';

type Peer = { shard: number; ws: WebSocket; frames: RunnerToControl[] };

/** `shards` undefined: a control plane from before sharding, whose welcome does not name a count. */
async function controlPlane(shards?: number) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise(resolve => wss.once('listening', resolve));
  const peers: Peer[] = [];
  wss.on('connection', (ws, req) => {
    const shard = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('shard') ?? '0');
    const peer: Peer = { shard, ws, frames: [] };
    peers.push(peer);
    ws.on('message', data => {
      const frame = JSON.parse(data.toString()) as RunnerToControl;
      peer.frames.push(frame);
      if (frame.type === 'hello') {
        ws.send(JSON.stringify({ type: 'welcome', runner_id: frame.runner_id, heartbeat_interval_ms: 60_000, ...(shards ? { shards, shard } : {}) } satisfies ControlToRunner));
      }
    });
  });
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/internal/runners/connect?runner_id=r1`;
  // The HTTP server under `wss` closes only once its sockets have: end them first.
  const close = () => {
    for (const client of wss.clients) client.terminate();
    return new Promise<void>(resolve => wss.close(() => resolve()));
  };
  return { wss, url, peers, close, current: (shard: number) => peers.filter(p => p.shard === shard).at(-1)! };
}

const until = async (ok: () => boolean, what: string) => {
  const deadline = Date.now() + 5_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 10));
  }
};

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A runner's links to `cp`, closed (before the server) after the test. */
function runnerLinks(cp: Awaited<ReturnType<typeof controlPlane>>, opts: Partial<Pick<ShardLinksOptions, 'held' | 'onFrame'>>) {
  const links = new ShardLinks({
    url: cp.url,
    token: 'sbr_r1_x',
    runnerId: 'r1',
    capacity: 10,
    logger: pino({ level: 'silent' }),
    held: opts.held ?? (() => []),
    sessions: () => 0,
    backoffBaseMs: 10,
    onFrame: opts.onFrame ?? (() => {}),
  });
  cleanup.push(() => cp.close(), () => links.close());
  return links;
}

describe('ShardLinks', () => {
  it('the fixture connections fall in the shards the tests name', () => {
    expect([shardOf(IN_SHARD_0, 2), shardOf(IN_SHARD_1, 2)]).toEqual([0, 1]);
  });

  it('dials every shard the first welcome names, tells each only of its own leases, and routes frames by connection', async () => {
    const cp = await controlPlane(2);
    const received: ControlToRunner[] = [];
    const links = runnerLinks(cp, {
      held: () => [IN_SHARD_0, IN_SHARD_1].map(pk => ({ connection_pk: pk, epoch: 3 })),
      onFrame: (frame, link) => {
        received.push(frame);
        if (frame.type === 'command') link.send({ type: 'reply', request_id: frame.request_id, ok: true, result: {} });
      },
    });
    links.start();
    await until(() => links.up, 'both links up');
    expect(links.count).toBe(2);
    expect(cp.peers.map(p => p.shard).sort()).toEqual([0, 1]);

    // The second shard's hello claims only its own lease (the first was sent before the count was known).
    const hello = cp.current(1).frames.find(f => f.type === 'hello');
    expect(hello?.type === 'hello' && hello.leases.map(l => l.connection_pk)).toEqual([IN_SHARD_1]);

    // A release goes to the shard that owns the connection; draining goes to all.
    links.send({ type: 'lease.released', connection_pk: IN_SHARD_1, epoch: 3 });
    links.send({ type: 'lease.released', connection_pk: IN_SHARD_0, epoch: 3 });
    links.send({ type: 'draining' });
    await until(() => cp.peers.every(p => p.frames.some(f => f.type === 'draining')), 'draining on both');
    const released = (shard: number) => cp.current(shard).frames.flatMap(f => (f.type === 'lease.released' ? [f.connection_pk] : []));
    expect(released(0)).toEqual([IN_SHARD_0]);
    expect(released(1)).toEqual([IN_SHARD_1]);

    // A command's reply goes back on the link it came by.
    const command = { type: 'command', request_id: 'q1', connection_pk: IN_SHARD_1, epoch: 3, command: { name: 'restart' } } satisfies ControlToRunner;
    cp.current(1).ws.send(JSON.stringify(command));
    await until(() => cp.current(1).frames.some(f => f.type === 'reply'), 'the reply on shard 1');
    expect(cp.current(0).frames.some(f => f.type === 'reply')).toBe(false);

    // A shard-0 link that drops and comes back now claims only shard 0's lease.
    cp.current(0).ws.terminate();
    await until(() => cp.peers.filter(p => p.shard === 0).length === 2 && links.up, 'shard 0 back');
    const again = cp.current(0).frames.find(f => f.type === 'hello');
    expect(again?.type === 'hello' && again.leases.map(l => l.connection_pk)).toEqual([IN_SHARD_0]);
    expect(received.filter(f => f.type === 'command')).toHaveLength(1);
  });

  it('stays on one link against a control plane that names no shards (an older one)', async () => {
    const cp = await controlPlane();
    const links = runnerLinks(cp, {});
    links.start();
    await until(() => links.up, 'the link up');
    await new Promise(r => setTimeout(r, 100));
    expect(cp.peers).toHaveLength(1);
    expect(new URL(cp.url).searchParams.has('shard')).toBe(false);
  });
});
