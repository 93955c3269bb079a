// Time to restore N sessions after a runner restart: N connections linked through the public API on one
// runner; the runner is killed (SIGKILL, as a crash or an OOM kill) and a new process with the same
// RUNNER_ID starts (a restarted container); measured until the API shows all N `connected` again (and
// until the runner itself has them all open). Beside it, the login rate of bare Baileys on the same box:
// N bare sockets re-logging in from saved creds, paced by the same concurrency (and a few others; the
// best rate counts). Goal: all N back, at ≥ 0.9× the best bare login rate.
import { startBare } from './lib/bare.js';
import { cpuSnapshot, cpuUsedBetween, envList, envNumber, runBench, sleep } from './lib/run.js';
import { linkConnections, startBenchRunner, startBenchStack, startCpuProfile, startEmulatorFor, statuses } from './lib/stack.js';

const N = envNumber('BENCH_RESTORE_SESSIONS', 200);
const CONCURRENCY = envNumber('BENCH_LINK_CONCURRENCY', 25);
/** The runner's login pacing (its default is 8). */
const LOGINS = envNumber('MAX_CONCURRENT_LOGINS', 8);
const BARE_PACES = [...new Set([LOGINS, ...envList('BENCH_BARE_RESTORE_CONCURRENCY', [LOGINS * 4])])];
const WAIT_MS = envNumber('BENCH_RESTORE_WAIT_S', 300) * 1000;
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT_MIN', 40) * 60_000;
/** Where to write a CPU profile of the restarted runner during the restore (unset: no profile). */
const PROFILE = process.env.BENCH_PROFILE_DIR;

const rate = (n: number, ms: number) => Math.round((n / (ms / 1000)) * 10) / 10;
const secs = (ms: number) => Math.round(ms / 100) / 10;
const fmtCpu = (used: Record<string, number>) =>
  Object.entries(used)
    .filter(([, s]) => s >= 0.05)
    .map(([label, s]) => `${label} ${s}`)
    .join(', ');

await runBench('restore', TIMEOUT_MS, async (ctx) => {
  const emulator = await startEmulatorFor(ctx);

  // Bare Baileys: link N, then re-login all of them from their saved creds at each pace.
  const bare = await startBare(emulator);
  ctx.defer('bare Baileys child', () => bare.stop());
  const bareLink = await bare.call<{ linked: number; failures: string[]; ms: number }>(
    { op: 'link', count: N, concurrency: CONCURRENCY },
    ctx.remainingMs() * 0.3,
  );
  ctx.log(`bare: ${bareLink.linked} sessions linked in ${secs(bareLink.ms)} s`);
  await sleep(5000);
  const bareRuns: { concurrency: number; opened: number; seconds: number; perSecond: number; failures: number; cpuSeconds: Record<string, number> }[] = [];
  for (const concurrency of BARE_PACES) {
    const cpuBefore = cpuSnapshot();
    const r = await bare.call<{ opened: number; failures: string[]; ms: number }>({ op: 'restore', concurrency }, 600_000);
    const cpuSeconds = cpuUsedBetween(cpuBefore, cpuSnapshot());
    bareRuns.push({ concurrency, opened: r.opened, seconds: secs(r.ms), perSecond: rate(r.opened, r.ms), failures: r.failures.length, cpuSeconds });
    ctx.log(`bare re-login at ${concurrency} concurrent: ${r.opened}/${bareLink.linked} in ${secs(r.ms)} s = ${rate(r.opened, r.ms)}/s`);
    await sleep(3000);
  }
  await bare.stop();
  const samePace = bareRuns.find((r) => r.concurrency === LOGINS)!;
  const best = bareRuns.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));

  // The runner: link N through the API, kill it, start it again, wait for all N.
  const stack = await startBenchStack(ctx, emulator);
  const runnerId = 'bench-restore';
  const runnerOpts = { runnerId, capacity: N + 10, env: { MAX_CONCURRENT_LOGINS: String(LOGINS) } };
  const first = await startBenchRunner(ctx, stack, runnerOpts);
  const link = await linkConnections(ctx, stack, {
    prefix: 'restore',
    start: 0,
    count: N,
    concurrency: CONCURRENCY,
    budgetMs: Math.max(30_000, ctx.remainingMs() - WAIT_MS - 120_000),
  });
  const linked = link.linked.length;
  ctx.log(`runner: ${linked}/${N} connections linked in ${secs(link.ms)} s; settling`);
  if (linked < N) ctx.note(`only ${linked} of ${N} connections linked (e.g. ${link.failures.slice(0, 2).join('; ')}); restore measured for those`);
  await sleep(10_000); // auth-state writes flushed, pre-key uploads done
  const openBefore = (await first.sessions()).open ?? 0;

  first.kill('SIGKILL');
  await first.exited;
  const cpuBefore = cpuSnapshot();
  const t0 = Date.now();
  const since = new Date(t0);
  const second = await startBenchRunner(ctx, stack, runnerOpts);
  const stopProfiles = PROFILE
    ? await Promise.all([
        startCpuProfile(second.inspectorPort, `${PROFILE}/restore-runner.cpuprofile`),
        startCpuProfile(stack.workerInspectorPort, `${PROFILE}/restore-worker.cpuprofile`),
      ])
    : [];
  const tReady = Date.now();
  let tOpen: number | undefined;
  let tConnected: number | undefined;
  let open = 0;
  let connected = 0;
  let lastLog = t0;
  while (Date.now() - t0 < WAIT_MS && (tOpen === undefined || tConnected === undefined)) {
    await sleep(250);
    open = (await second.sessions().catch(() => ({}) as Record<string, number>)).open ?? open;
    connected = [...(await statuses(stack, since)).values()].filter((s) => s === 'connected').length;
    if (tOpen === undefined && open >= linked) tOpen = Date.now();
    if (tConnected === undefined && connected >= linked) tConnected = Date.now();
    if (Date.now() - lastLog > 10_000) {
      lastLog = Date.now();
      ctx.log(`  restoring: runner has ${open} open, API shows ${connected} connected (of ${linked})`);
    }
  }
  // Where the CPU went while restoring (the box has 2 cores): the runner beside the control plane it talks to.
  const cpuSeconds = cpuUsedBetween(cpuBefore, cpuSnapshot());
  for (const stop of stopProfiles) await stop();
  if (tConnected === undefined) ctx.note(`not all restored within ${WAIT_MS / 1000} s: API ${connected}/${linked} connected, runner ${open} open`);
  const end = tConnected ?? Date.now();
  const restore = {
    sessions: linked,
    openBeforeKill: openBefore,
    stop: 'SIGKILL, new process with the same RUNNER_ID',
    maxConcurrentLogins: LOGINS,
    runnerReadySeconds: secs(tReady - t0),
    allOpenOnRunnerSeconds: tOpen === undefined ? null : secs(tOpen - t0),
    allConnectedInApiSeconds: tConnected === undefined ? null : secs(tConnected - t0),
    connectedInApi: connected,
    perSecondFromKill: rate(connected, end - t0),
    perSecondFromReady: rate(connected, end - tReady),
    cpuSeconds,
  };
  const ratio = Math.round((restore.perSecondFromKill / best.perSecond) * 100) / 100;
  const ratioFromReady = Math.round((restore.perSecondFromReady / best.perSecond) * 100) / 100;
  return {
    parameters: { sessions: N, linkConcurrency: CONCURRENCY, maxConcurrentLogins: LOGINS, barePaces: BARE_PACES, waitSeconds: WAIT_MS / 1000 },
    figures: {
      linking: { linked, seconds: secs(link.ms), failures: link.failures.length },
      restore,
      bare: { linked: bareLink.linked, linkSeconds: secs(bareLink.ms), runs: bareRuns, best },
      ratioToBestBare: ratio,
      ratioToBestBareFromReady: ratioFromReady,
      goal: `all ${N} connected, at ≥ 0.9× the best bare login rate`,
      goalMet: connected >= N && ratio >= 0.9,
    },
    summary: [
      `linked ${linked}/${N} connections through the API in ${secs(link.ms)} s (${CONCURRENCY} QR scans in flight)`,
      `runner killed; new process ready after ${restore.runnerReadySeconds} s; all open on the runner after ${restore.allOpenOnRunnerSeconds ?? '—'} s; ` +
        `all connected in the API after ${restore.allConnectedInApiSeconds ?? '—'} s (${connected}/${linked})`,
      `restore rate ${restore.perSecondFromKill}/s from the kill (${restore.perSecondFromReady}/s from ready), MAX_CONCURRENT_LOGINS=${LOGINS}`,
      `  CPU seconds while restoring: ${fmtCpu(cpuSeconds)}`,
      ...bareRuns.map((r) => `bare Baileys re-login, ${r.concurrency} concurrent: ${r.opened} in ${r.seconds} s = ${r.perSecond}/s\n  CPU seconds: ${fmtCpu(r.cpuSeconds)}`),
      `runner/best bare = ${ratio}× from the kill (${ratioFromReady}× from ready); goal ≥ 0.9×`,
    ],
  };
});
