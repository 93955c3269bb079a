// Builds the dashboard (dashboard/, a Vite + React app) into dashboard/dist, which the Worker serves as its
// static assets: once for `npm run build` and the tests, or watching the sources for `npm run dev`
// (each change rebuilt in place; the Worker serves the new files on the next request).
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DASHBOARD_DIST = path.join(ROOT, 'dashboard/dist');
const CONFIG = path.join(ROOT, 'dashboard/vite.config.ts');

/** What a watching build returns (Rolldown's watcher; only what is used here). */
interface Watcher {
  on(event: 'event', listener: (e: { code: string; error?: unknown; result?: { close(): Promise<void> } | null }) => void): void;
  close(): Promise<void>;
}

export interface DashboardWatcher {
  close(): Promise<void>;
}

/** One production build of the dashboard (none when `onlyIfMissing` and a build is there). */
export async function buildDashboard({ onlyIfMissing = false } = {}): Promise<void> {
  if (onlyIfMissing && (await stat(path.join(DASHBOARD_DIST, 'index.html')).then(() => true, () => false))) return;
  const { build } = await import('vite');
  await build({ configFile: CONFIG, mode: 'production' });
}

/**
 * Builds the dashboard, then rebuilds it on every change to its sources (or to protocol/). Resolves once the
 * first build is written, so the Worker never starts without assets; later failures are logged, not fatal.
 */
export async function watchDashboard(log: (line: string) => void): Promise<DashboardWatcher> {
  const { build } = await import('vite');
  // The folder is never emptied while watching: the Worker serves it throughout, and a page loaded mid-build
  // must still find an index.html and the files it names (old hashed files stay until the next start).
  const watcher = (await build({ configFile: CONFIG, mode: 'development', build: { watch: {}, emptyOutDir: false } })) as unknown as Watcher;
  await new Promise<void>((resolve, reject) => {
    let first = true;
    watcher.on('event', (e) => {
      if (e.code === 'END') {
        if (first) resolve();
        else log('dashboard rebuilt');
        first = false;
      } else if (e.code === 'ERROR') {
        const message = e.error instanceof Error ? e.error.message : String(e.error);
        if (first) reject(new Error(`dashboard build failed: ${message}`));
        else log(`✘ dashboard build failed: ${message}`);
        void e.result?.close();
      } else if (e.code === 'BUNDLE_END') {
        void e.result?.close();
      }
    });
  });
  return { close: () => watcher.close() };
}
