// Where a workerd CPU profile's time went, by part of the control plane. The Worker's bundle is esbuild's
// unminified output, which opens each source module with a `// path/to/module.ts` comment; a sample whose
// stack passes through worker/scheduler/ is the Scheduler Durable Object's time (a Durable Object runs
// each call on a stack of its own, so the Worker's routes never show up inside it), and so on.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Parts, in the order they are checked along a sample's stack. */
const PARTS: Array<[string, RegExp]> = [
  // client.ts is how the Worker calls the Scheduler: it runs on the Worker's side.
  ['Scheduler DO', /^worker\/scheduler\/(?!client\.ts$)/],
  ['Hub DO', /^worker\/hub\//],
];

/**
 * Milliseconds per part of the control plane in a profile of workerd. A sample's interval is wall time:
 * on a busy box the thread may have waited for a core meanwhile, so use the shares (see `shareOf`), scaled
 * to the CPU time the process used, rather than the sums.
 */
export function profileShare(profileFile: string, bundleFile: string): Record<string, number> {
  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as CpuProfile;
  // Line (0-based) → the module that line belongs to.
  const starts: Array<{ line: number; module: string }> = [];
  readFileSync(bundleFile, 'utf8')
    .split('\n')
    .forEach((text, line) => {
      const m = /^\/\/ ((?:worker|protocol|drizzle|node_modules)\/\S+\.[cm]?[jt]sx?)$/.exec(text);
      if (m) starts.push({ line, module: m[1]! });
    });
  const moduleAt = (line: number): string | undefined => {
    let lo = 0;
    let hi = starts.length - 1;
    let found: string | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]!.line <= line) (found = starts[mid]!.module), (lo = mid + 1);
      else hi = mid - 1;
    }
    return found;
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const partOf = new Map<number, string>();
  const classify = (id: number): string => {
    const cached = partOf.get(id);
    if (cached) return cached;
    const leaf = byId.get(id)!.callFrame.functionName;
    let part: string | undefined;
    if (leaf === '(idle)') part = 'idle';
    else if (leaf === '(garbage collector)') part = 'garbage collector (unattributed)';
    else if (leaf === '(program)') part = 'runtime (unattributed)';
    for (let at: number | undefined = id; at !== undefined && !part; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      const module = frame.url ? moduleAt(frame.lineNumber) : undefined;
      if (module) part = PARTS.find(([, re]) => re.test(module))?.[0];
    }
    part ??= 'Worker (routes, queue consumers, libraries)';
    partOf.set(id, part);
    return part;
  };
  const ms: Record<string, number> = {};
  profile.samples.forEach((id, i) => {
    const part = classify(id);
    ms[part] = (ms[part] ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000;
  });
  return Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, Math.round(v)]).sort((a, b) => (b[1] as number) - (a[1] as number)));
}

/** A part's share of the time the profile saw the thread busy (everything but idle). */
export function shareOf(ms: Record<string, number>, part: string): number {
  const busy = Object.entries(ms).reduce((n, [k, v]) => (k === 'idle' ? n : n + v), 0);
  return busy > 0 ? (ms[part] ?? 0) / busy : 0;
}
