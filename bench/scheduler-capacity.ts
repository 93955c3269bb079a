// Capacity of the one Scheduler Durable Object, which every send and every runner link goes through.
// Simulated runners (bench/lib/sim-runner.ts: the real wire protocol, no Baileys) link to the real control
// plane in workerd and answer every command at once, so what is measured is the control plane alone:
//   1. leases: N connections placed on R runners from nothing (grants per second, Postgres fencing included);
//   2. sends: POST /api/send-message at a fixed concurrency (the whole API path: auth, Postgres, the
//      Scheduler, the runner's reply), with workerd's CPU per send and, from a CPU profile of workerd, the
//      Scheduler's own share of it: what one instance's ceiling is made of;
//   3. failover: half the runners die; their leases move to the others after the grace period.
// The figures size docs/architecture.md#capacity. Everything shares the box's cores: the ceiling of one
// Scheduler is estimated from its CPU per operation (a Durable Object runs on one thread), not from the
// rate this box reaches with the Worker, Postgres and the load generator beside it.
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { profileShare, shareOf } from './lib/profile-share.js';
import { cpuSnapshot, cpuUsedBetween, envNumber, mapLimit, runBench, sleep, summarize } from './lib/run.js';
import { SimRunner } from './lib/sim-runner.js';
import { startBenchStack, startCpuProfile, startEmulatorFor, statuses } from './lib/stack.js';

const CONNECTIONS = envNumber('BENCH_SCHED_CONNECTIONS', 2000);
const RUNNERS = envNumber('BENCH_SCHED_RUNNERS', 10);
const SENDS = envNumber('BENCH_SCHED_SENDS', 3000);
const CONCURRENCY = envNumber('BENCH_SCHED_CONCURRENCY', 32);
const GRACE_MS = 2000;
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT_MIN', 15) * 60_000;

await runBench('scheduler-capacity', TIMEOUT_MS, async (ctx) => {
  const emulator = await startEmulatorFor(ctx); // the stack wants one; nothing here talks to it
  const stack = await startBenchStack(ctx, emulator, {
    SCHEDULER_GRACE_MS: String(GRACE_MS),
    SCHEDULER_RECONCILE_MS: '1000',
    RUNNER_HEARTBEAT_MS: '1000',
    SEND_TIMEOUT_MS: '10000',
  });
  const bundle = path.join(stack.dataDir, 'wrangler', 'bundle', 'index.js');
  // Kept where BENCH_PROFILE_DIR says (with the bundle they map to), else thrown away with the stack.
  const profileDir = process.env.BENCH_PROFILE_DIR ?? path.join(stack.dataDir, 'profiles');
  if (process.env.BENCH_PROFILE_DIR) {
    mkdirSync(profileDir, { recursive: true });
    copyFileSync(bundle, path.join(profileDir, 'worker-bundle.js'));
  }

  ctx.log(`creating ${CONNECTIONS} connections through the API`);
  const ids = Array.from({ length: CONNECTIONS }, (_, i) => `sched-${i}`);
  await mapLimit(ids, 8, async (id) => {
    const res = await stack.api('POST', '/api/connections', { connection_id: id });
    if (res.status !== 201) throw new Error(`create ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  });

  // As if each had been linked to a phone before: linked connections always run, so each wants a runner.
  await stack.pool.query('update connections set linked_at = now() where tenant_id = $1', [stack.tenantId]);

  // 1. Leases from nothing.
  const capacity = Math.ceil((CONNECTIONS / RUNNERS) * 2);
  const linkStart = Date.now();
  const runners = await Promise.all(
    Array.from({ length: RUNNERS }, async (_, i) => SimRunner.connect(stack.url, `sim-${i}`, await stack.runnerToken(`sim-${i}`), capacity)),
  );
  const held = () => runners.reduce((n, r) => n + r.leases.size, 0);
  while (held() < CONNECTIONS) {
    if (Date.now() - linkStart > 300_000) throw new Error(`only ${held()} of ${CONNECTIONS} leases granted in 5 minutes`);
    await sleep(50);
  }
  const placeMs = Date.now() - linkStart;
  ctx.log(`${CONNECTIONS} leases granted on ${RUNNERS} runners in ${placeMs} ms`);
  for (;;) {
    const s = await statuses(stack);
    if ([...s.values()].filter((v) => v === 'connected').length === CONNECTIONS) break;
    await sleep(250);
  }

  // 2. Sends through the API, with workerd's CPU and a profile of it.
  const contact = '15550001234';
  const warm = Array.from({ length: 200 }, (_, i) => i);
  await mapLimit(warm, CONCURRENCY, async (i) => {
    await stack.api('POST', '/api/send-message', { connection_id: ids[i % CONNECTIONS], to: contact, message: `warm ${i}` });
  });
  const stopProfile = await startCpuProfile(stack.workerInspectorPort, path.join(profileDir, 'sends.cpuprofile'));
  const cpuBefore = cpuSnapshot();
  const latencies: number[] = [];
  let failed = 0;
  const sendStart = Date.now();
  await mapLimit(Array.from({ length: SENDS }, (_, i) => i), CONCURRENCY, async (i) => {
    const t = performance.now();
    const res = await stack.api('POST', '/api/send-message', { connection_id: ids[i % CONNECTIONS], to: contact, message: `capacity ${i}` });
    latencies.push(performance.now() - t);
    if (res.status !== 200) failed++;
  });
  const sendSeconds = (Date.now() - sendStart) / 1000;
  const cpu = cpuUsedBetween(cpuBefore, cpuSnapshot());
  await stopProfile();
  const share = profileShare(path.join(profileDir, 'sends.cpuprofile'), bundle);
  const workerdCpu = Object.entries(cpu).find(([k]) => k.startsWith('workerd'))?.[1] ?? 0;
  // The Scheduler's share of workerd's busy samples, applied to the CPU workerd used: per send.
  const schedulerMsPerSend = (shareOf(share, 'Scheduler DO') * workerdCpu * 1000) / SENDS;
  const workerdMsPerSend = (workerdCpu * 1000) / SENDS;
  const sendsPerSecond = SENDS / sendSeconds;
  ctx.log(`${SENDS} sends in ${sendSeconds.toFixed(1)} s (${failed} failed); Scheduler ${schedulerMsPerSend.toFixed(3)} ms CPU per send`);

  // 3. Failover: half the runners die at once.
  const dead = runners.slice(0, RUNNERS / 2);
  const survivors = runners.slice(RUNNERS / 2);
  const moving = dead.reduce((n, r) => n + r.leases.size, 0);
  const grantsBefore = survivors.reduce((n, r) => n + r.grants, 0);
  const stopFailoverProfile = await startCpuProfile(stack.workerInspectorPort, path.join(profileDir, 'failover.cpuprofile'));
  const failoverCpuBefore = cpuSnapshot();
  const killedAt = Date.now();
  for (const r of dead) r.kill();
  while (survivors.reduce((n, r) => n + r.grants, 0) - grantsBefore < moving) {
    if (Date.now() - killedAt > 300_000) throw new Error('leases did not move within 5 minutes');
    await sleep(50);
  }
  const moveMs = Date.now() - killedAt;
  const failoverCpu = cpuUsedBetween(failoverCpuBefore, cpuSnapshot());
  await stopFailoverProfile();
  const failoverShare = profileShare(path.join(profileDir, 'failover.cpuprofile'), bundle);
  for (const r of survivors) r.close();

  const movedPerSecond = moving / Math.max(0.001, (moveMs - GRACE_MS) / 1000);
  const failoverWorkerdCpu = Object.entries(failoverCpu).find(([k]) => k.startsWith('workerd'))?.[1] ?? 0;
  const schedulerMsPerMove = (shareOf(failoverShare, 'Scheduler DO') * failoverWorkerdCpu * 1000) / moving;
  const ceilingSends = schedulerMsPerSend > 0 ? Math.floor(1000 / schedulerMsPerSend) : null;
  return {
    parameters: { connections: CONNECTIONS, runners: RUNNERS, sends: SENDS, concurrency: CONCURRENCY, graceMs: GRACE_MS },
    figures: {
      leases: { placed: CONNECTIONS, ms: placeMs, perSecond: Math.round(CONNECTIONS / (placeMs / 1000)) },
      sends: {
        perSecond: Math.round(sendsPerSecond),
        failed,
        latencyMs: summarize(latencies),
        workerdCpuMsPerSend: Number(workerdMsPerSend.toFixed(3)),
        schedulerCpuMsPerSend: Number(schedulerMsPerSend.toFixed(3)),
        oneSchedulerCeilingPerSecond: ceilingSends,
        profileMs: share,
        cpuSeconds: cpu,
      },
      failover: {
        moved: moving,
        msFromDeath: moveMs,
        perSecondAfterGrace: Math.round(movedPerSecond),
        schedulerCpuMsPerMove: Number(schedulerMsPerMove.toFixed(3)),
        profileMs: failoverShare,
        cpuSeconds: failoverCpu,
      },
    },
    summary: [
      `leases: ${CONNECTIONS} placed on ${RUNNERS} runners in ${placeMs} ms (${Math.round(CONNECTIONS / (placeMs / 1000))}/s)`,
      `sends: ${Math.round(sendsPerSecond)}/s through the API at concurrency ${CONCURRENCY} (p50 ${summarize(latencies).p50} ms), ${failed} failed`,
      `  workerd ${workerdMsPerSend.toFixed(2)} ms CPU per send, of it the Scheduler ${schedulerMsPerSend.toFixed(3)} ms → one Scheduler ≈ ${ceilingSends ?? '?'} sends/s of CPU`,
      `failover: ${moving} leases moved ${moveMs} ms after their runners died (grace ${GRACE_MS} ms): ${Math.round(movedPerSecond)}/s after the grace, Scheduler ${schedulerMsPerMove.toFixed(3)} ms CPU per move`,
    ],
  };
});
