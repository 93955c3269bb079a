// Idle open sessions per runner and RSS per session, beside bare Baileys measured in the same run.
// Bare: N makeWASocket sessions (in-memory auth) in one child process, linked by QR to N emulator phones.
// Runner: a real runner process holding N connections linked through the public API (Worker in workerd,
// Postgres, emulator phones scanning the QR). Per session = (VmRSS after − VmRSS before) / sessions open,
// after an idle settle and a forced full GC (also reported without the GC). Goal: runner ≤ 1.5× bare.
import { startBare } from './lib/bare.js';
import { envList, envNumber, mb, runBench, sleep } from './lib/run.js';
import { linkConnections, startBenchRunner, startBenchStack, startEmulatorFor } from './lib/stack.js';

const SIZES = envList('BENCH_SESSIONS', [200, 500]).sort((a, b) => a - b);
const CONCURRENCY = envNumber('BENCH_LINK_CONCURRENCY', 25);
const SETTLE_MS = envNumber('BENCH_SETTLE_MS', 15_000);
const LINK_BUDGET_MS = envNumber('BENCH_LINK_BUDGET_S', 900) * 1000;
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT_MIN', 60) * 60_000;

type Point = {
  target: number;
  sessions: number;
  linkSeconds: number;
  linkFailures: number;
  rssSettledMb: number;
  rssAfterGcMb: number;
  perSessionKbSettled: number;
  perSessionKbAfterGc: number;
};
const perKb = (after: number, before: number, n: number) => (n > 0 ? Math.round((after - before) / n / 1024) : NaN);

/** One size's figures: RSS now (settled and after GC) against the baseline, per open session. */
function point(
  target: number,
  sessions: number,
  link: { ms: number; failures: unknown[] },
  rss: { settled: number; gc: number },
  base: { settled: number; gc: number },
): Point {
  return {
    target,
    sessions,
    linkSeconds: Math.round(link.ms / 100) / 10,
    linkFailures: link.failures.length,
    rssSettledMb: mb(rss.settled),
    rssAfterGcMb: mb(rss.gc),
    perSessionKbSettled: perKb(rss.settled, base.settled, sessions),
    perSessionKbAfterGc: perKb(rss.gc, base.gc, sessions),
  };
}

await runBench('runner-idle-memory', TIMEOUT_MS, async (ctx) => {
  const emulator = await startEmulatorFor(ctx);
  // The runner phase needs its share of the time bound: bare linking gets at most 40% of it.
  const bareBudget = Math.min(LINK_BUDGET_MS, ctx.remainingMs() * 0.4);

  // Bare Baileys ------------------------------------------------------------------------------------
  const bare = await startBare(emulator);
  ctx.defer('bare Baileys child', () => bare.stop());
  await sleep(2000);
  const bareBase = { settled: bare.rss(), gc: await bare.gcRss() };
  ctx.log(`bare baseline: ${mb(bareBase.gc)} MB after GC`);
  const barePoints: Point[] = [];
  let bareLinked = 0;
  const bareStart = Date.now();
  for (const target of SIZES) {
    if (Date.now() - bareStart > bareBudget) {
      ctx.note(`bare Baileys: ${target} sessions skipped (linking budget spent)`);
      break;
    }
    const link = await bare.call<{ linked: number; failures: string[]; ms: number }>(
      { op: 'link', count: target - bareLinked, concurrency: CONCURRENCY },
      bareBudget,
    );
    bareLinked = link.linked;
    ctx.log(`bare: ${bareLinked} sessions linked in ${(link.ms / 1000).toFixed(1)} s (${link.failures.length} failed); settling`);
    if (link.failures.length) ctx.note(`bare Baileys link failures at ${target}: ${link.failures.slice(0, 3).join('; ')}`);
    await sleep(SETTLE_MS);
    const settled = bare.rss();
    const gc = await bare.gcRss();
    barePoints.push(point(target, bareLinked, link, { settled, gc }, bareBase));
  }
  await bare.stop();

  // Runner ------------------------------------------------------------------------------------------
  const stack = await startBenchStack(ctx, emulator);
  const maxLogins = process.env.MAX_CONCURRENT_LOGINS;
  const runner = await startBenchRunner(ctx, stack, {
    runnerId: 'bench-memory',
    capacity: SIZES[SIZES.length - 1]! + 10,
    env: maxLogins ? { MAX_CONCURRENT_LOGINS: maxLogins } : {},
  });
  await sleep(3000);
  const runnerBase = { settled: runner.rss(), gc: await runner.gcRss() };
  ctx.log(`runner baseline: ${mb(runnerBase.gc)} MB after GC`);
  const runnerPoints: Point[] = [];
  let linked = 0;
  for (const target of SIZES) {
    const budget = Math.min(LINK_BUDGET_MS, ctx.remainingMs() - SETTLE_MS - 90_000);
    if (budget < 30_000) {
      ctx.note(`runner: ${target} sessions not attempted (time bound)`);
      break;
    }
    const link = await linkConnections(ctx, stack, { prefix: 'mem', start: linked, count: target - linked, concurrency: CONCURRENCY, budgetMs: budget });
    linked += link.linked.length;
    ctx.log(`runner: ${linked} connections linked in ${(link.ms / 1000).toFixed(1)} s (${link.failures.length} failed); settling`);
    if (link.failures.length) ctx.note(`runner link failures at ${target}: ${link.failures.length}, e.g. ${link.failures.slice(0, 3).join('; ')}`);
    await sleep(SETTLE_MS);
    const open = (await runner.sessions()).open ?? 0;
    const settled = runner.rss();
    const gc = await runner.gcRss();
    runnerPoints.push(point(target, open, link, { settled, gc }, runnerBase));
    if (open < target) {
      ctx.note(`runner: only ${open} of ${target} sessions open; larger sizes skipped`);
      break;
    }
  }

  const comparison = runnerPoints.map((r) => {
    const b = barePoints.find((p) => p.target === r.target);
    return {
      target: r.target,
      runnerKbPerSession: r.perSessionKbAfterGc,
      bareKbPerSession: b?.perSessionKbAfterGc ?? null,
      ratio: b ? Math.round((r.perSessionKbAfterGc / b.perSessionKbAfterGc) * 100) / 100 : null,
      ratioSettled: b ? Math.round((r.perSessionKbSettled / b.perSessionKbSettled) * 100) / 100 : null,
      goal: '≤ 1.5',
    };
  });
  const line = (label: string, p: Point) =>
    `${label} ${String(p.sessions).padStart(4)} sessions: ${p.perSessionKbAfterGc} KB/session after GC (${p.perSessionKbSettled} settled), ` +
    `RSS ${p.rssAfterGcMb} MB, linked in ${p.linkSeconds} s`;
  return {
    parameters: { sizes: SIZES, linkConcurrency: CONCURRENCY, settleMs: SETTLE_MS, maxConcurrentLogins: maxLogins ?? 'runner default (8)' },
    figures: {
      bare: { baselineRssMb: mb(bareBase.gc), points: barePoints },
      runner: { baselineRssMb: mb(runnerBase.gc), points: runnerPoints },
      comparison,
    },
    summary: [
      `bare Baileys baseline ${mb(bareBase.gc)} MB, runner baseline ${mb(runnerBase.gc)} MB (after GC)`,
      ...barePoints.map((p) => line('bare  ', p)),
      ...runnerPoints.map((p) => line('runner', p)),
      ...comparison.map((c) => `${c.target}: runner/bare = ${c.ratio}× after GC (${c.ratioSettled}× settled; goal ≤ 1.5×)`),
    ],
  };
});
