// The runner's links to the control plane: one per Scheduler shard (protocol/shards.ts). Shard 0 is dialled
// first; its welcome says how many shards there are, and the others are dialled then (or closed, should
// the count shrink). Frames about a connection go on the link of the shard that owns it; a command's reply
// goes back on the link it came by; `draining` goes on every link.
import type { ControlToRunner, RunnerToControl } from '../protocol/runner.js';
import { shardOf } from '../protocol/shards.js';
import { Link, type LinkOptions } from './link.js';

export type ShardLinksOptions = Omit<LinkOptions, 'shard' | 'onFrame' | 'onWelcome' | 'onUp'> & {
  /** A frame from the control plane, with the link it came by (a command is answered on it). */
  onFrame: (frame: ControlToRunner, link: Link) => void;
  /** One link came (back) up. */
  onUp?: (link: Link) => void;
};

export class ShardLinks {
  private readonly links: Link[] = [];
  private shards = 1;
  private stopped = false;

  constructor(private readonly opts: ShardLinksOptions) {}

  start(): void {
    this.open(0);
  }

  /** Up once every shard's link is (a runner missing a shard would not be given its connections). */
  get up(): boolean {
    return this.links.length === this.shards && this.links.every(l => l.up);
  }

  get count(): number {
    return this.shards;
  }

  send(frame: RunnerToControl): boolean {
    switch (frame.type) {
      case 'lease.released':
        return this.linkOf(frame.connection_pk).send(frame);
      case 'draining':
        return this.links.map(l => l.send(frame)).every(Boolean);
      default:
        // hello and heartbeat belong to each link itself; a reply goes back on the link its command came by.
        return this.links[0]!.send(frame);
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.links.map(l => l.close()));
  }

  private linkOf(connectionPk: string): Link {
    return this.links[shardOf(connectionPk, this.shards)] ?? this.links[0]!;
  }

  private open(shard: number): void {
    const url = new URL(this.opts.url);
    if (shard > 0) url.searchParams.set('shard', String(shard));
    const link: Link = new Link({
      ...this.opts,
      url: url.toString(),
      shard,
      logger: this.opts.logger.child({ shard }),
      // Each shard is told only of its own connections (it would refuse the others' as stale).
      held: () => this.opts.held().filter(l => shardOf(l.connection_pk, this.shards) === shard),
      onFrame: frame => this.opts.onFrame(frame, link),
      onWelcome: frame => this.resize(frame.shards ?? 1),
      onUp: () => this.opts.onUp?.(link),
    });
    this.links[shard] = link;
    link.start();
  }

  private resize(shards: number): void {
    if (shards === this.shards || this.stopped) return;
    this.opts.logger.info({ from: this.shards, to: shards }, 'link: the control plane has a new number of Scheduler shards');
    this.shards = shards;
    for (const extra of this.links.splice(shards)) void extra.close();
    for (let shard = this.links.length; shard < shards; shard++) this.open(shard);
  }
}
