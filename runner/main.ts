// Runner entry point: configuration from the environment, one runner, and a drain on SIGTERM/SIGINT.
import { loadConfig } from './config.js';
import { routeConsoleTo } from './library-console.js';
import { startRunner } from './runner.js';

const config = (() => {
  try {
    return loadConfig();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
})();

const runner = await startRunner(config);
// Libraries' console output (libsignal prints session keys) goes through the logger, as text only.
routeConsoleTo(runner.logger);
let stopping = false;
const stop = (signal: string) => {
  if (stopping) {
    runner.logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  runner.logger.info({ signal, sessions: runner.sessions.size }, 'draining');
  runner.drain().then(
    () => {
      runner.logger.info('drained, bye');
      process.exit(0);
    },
    err => {
      runner.logger.error({ err }, 'drain failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
process.on('unhandledRejection', err => runner.logger.error({ err }, 'unhandled rejection'));
