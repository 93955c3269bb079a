// `npm run build`: the deployable pieces. The runner is bundled to dist/runner/main.js (dependencies stay
// in node_modules, as Baileys and libsignal expect); the dashboard (or its landing page) goes to
// dashboard/dist, which wrangler deploys as static assets. The Worker itself is bundled by wrangler.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ensureDashboardAssets } from './lib/dashboard';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const runnerEntry = path.join(ROOT, 'runner/main.ts');
if (existsSync(runnerEntry)) {
  await build({
    entryPoints: { 'runner/main': runnerEntry, 'runner/emulator/main': path.join(ROOT, 'runner/emulator/main.ts') },
    outdir: path.join(ROOT, 'dist'),
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    packages: 'external',
    sourcemap: true,
    logLevel: 'info',
  });
}
await ensureDashboardAssets();
console.log('build done');
