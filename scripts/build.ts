// `npm run build`: the deployable pieces. The runner is bundled to dist/runner/main.js (dependencies stay
// in node_modules, as Baileys and libsignal expect); the dashboard is built
// into dashboard/dist, which wrangler deploys as static assets. The Worker itself is bundled by wrangler.
import { buildDashboard } from './lib/dashboard';
import { buildRunnerBundle } from './lib/runner-bundle';

await buildRunnerBundle('info');
await buildDashboard();
console.log('build done');
