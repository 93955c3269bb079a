// `npm test`: type-checks every project (Node side and Worker side), then runs every test with vitest
// (unit tests, the emulator against real Baileys, and end-to-end tests against the real stack).
// Extra arguments go to vitest, e.g. `npm test -- --project unit`.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (args: string[]) => spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' }).status ?? 1;
const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');

for (const project of ['tsconfig.json', 'worker/tsconfig.json', 'dashboard/tsconfig.json']) {
  console.log(`typecheck ${project}`);
  if (run([tsc, '-p', project, '--noEmit']) !== 0) process.exit(1);
}
process.exit(run([path.join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', ...process.argv.slice(2)]));
