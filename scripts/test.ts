// `npm test`: type-checks every project (Node side and Worker side), then runs every test with vitest
// (unit tests, the emulator against real Baileys, end-to-end tests against the real stack, then the
// fault suite).
// Extra arguments go to vitest, e.g. `npm test -- --project unit`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (args: string[]) => spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' }).status ?? 1;
const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');

for (const project of ['tsconfig.json', 'worker/tsconfig.json', 'dashboard/tsconfig.json']) {
  console.log(`typecheck ${project}`);
  if (run([tsc, '-p', project, '--noEmit']) !== 0) process.exit(1);
}
const vitest = (args: string[]) => run([path.join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', ...args]);
const args = process.argv.slice(2);
if (args.length) process.exit(vitest(args));
// Everything: unit and end-to-end tests, then the fault suite on its own, since each of its scenarios
// runs a whole stack of its own and a 2-core machine shared with the e2e stack starves one or the other.
rmSync(path.join(ROOT, 'test-results/secret-scan.txt'), { force: true });
const status = vitest(['--project', 'unit', '--project', 'e2e']);
if (status !== 0) process.exit(status);
// The e2e run's last act is a scan of its logs and outbox journals for secrets (test/harness/secret-watch.ts);
// vitest only prints an error from a global teardown, so its verdict is read back here.
const scan = path.join(ROOT, 'test-results/secret-scan.txt');
const verdict = existsSync(scan) ? readFileSync(scan, 'utf8') : 'the e2e run wrote no secret scan';
if (!verdict.startsWith('no secrets found')) {
  console.error(`secret scan failed:\n${verdict}`);
  process.exit(1);
}
console.log(`secret scan: ${verdict.trim()}`);
process.exit(vitest(['--project', 'faults']));
