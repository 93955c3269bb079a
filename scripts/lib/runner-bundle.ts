// The runner as production runs it: bundled by esbuild to dist/runner/main.js (dependencies stay in
// node_modules, as Baileys and libsignal expect). `npm run build` makes it; benchmarks run it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where the bundled runner entry point lands. */
export const RUNNER_BUNDLE = path.join(ROOT, 'dist/runner/main.js');

export async function buildRunnerBundle(logLevel: 'info' | 'warning' = 'warning'): Promise<string> {
  await build({
    entryPoints: { 'runner/main': path.join(ROOT, 'runner/main.ts'), 'runner/emulator/main': path.join(ROOT, 'runner/emulator/main.ts') },
    outdir: path.join(ROOT, 'dist'),
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    packages: 'external',
    sourcemap: true,
    logLevel,
  });
  return RUNNER_BUNDLE;
}
