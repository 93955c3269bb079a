// Makes sure the Worker has static assets to serve: the built dashboard when it exists, else a landing
// page pointing at the API reference (wrangler refuses to start without the assets directory).
import { cp, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DASHBOARD_DIST = path.join(ROOT, 'dashboard/dist');

export async function ensureDashboardAssets(): Promise<void> {
  const index = path.join(DASHBOARD_DIST, 'index.html');
  if (await stat(index).then(() => true, () => false)) return;
  await mkdir(DASHBOARD_DIST, { recursive: true });
  await cp(path.join(ROOT, 'dashboard/landing'), DASHBOARD_DIST, { recursive: true });
}
