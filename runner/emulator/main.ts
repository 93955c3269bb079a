// `npm run emulator`: runs the emulator on its own. EMULATOR_HOST (127.0.0.1), EMULATOR_PORT (5800),
// EMULATOR_DATA_FILE (optional persistence). Prints the URLs and the root key to trust.
import { startEmulator } from './emulator.js';

const emulator = await startEmulator({
  host: process.env.EMULATOR_HOST ?? '127.0.0.1',
  port: Number(process.env.EMULATOR_PORT ?? 5800),
  dataFile: process.env.EMULATOR_DATA_FILE || undefined,
});
console.log(
  JSON.stringify({ event: 'emulator.ready', url: emulator.url, controlUrl: emulator.controlUrl, rootPublicKey: emulator.rootPublicKey }),
);

const stop = async () => {
  await emulator.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
