// `npm run bench`: runs every benchmark in bench/ one after another (they share two cores), each of which
// prints its figures and writes them as JSON to bench/results/. `npm run bench -- name` runs the matching ones.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH = path.join(ROOT, 'bench');
mkdirSync(path.join(BENCH, 'results'), { recursive: true });
const filters = process.argv.slice(2);
const files = readdirSync(BENCH)
  .filter((f) => f.endsWith('.ts') && !f.startsWith('_'))
  .filter((f) => filters.length === 0 || filters.some((q) => f.includes(q)))
  .sort();
if (files.length === 0) {
  console.error('no benchmarks matched');
  process.exit(1);
}
let failed = 0;
for (const file of files) {
  console.log(`\n=== bench/${file}`);
  const { status } = spawnSync(process.execPath, ['--import', 'tsx', path.join(BENCH, file)], { cwd: ROOT, stdio: 'inherit' });
  if (status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
