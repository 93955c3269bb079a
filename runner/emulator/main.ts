// `npm run emulator`: runs the emulator on its own. EMULATOR_HOST (127.0.0.1), EMULATOR_PORT (5800),
// EMULATOR_DATA_FILE (optional persistence), EMULATOR_MEDIA_PORT (free port), EMULATOR_MEDIA_CA_FILE
// (where to write the media CA for a runner's WA_MEDIA_CA). Prints the URLs and the root key to trust.
import { startEmulator } from './emulator.js';

const emulator = await startEmulator({
  host: process.env.EMULATOR_HOST ?? '127.0.0.1',
  port: Number(process.env.EMULATOR_PORT ?? 5800),
  dataFile: process.env.EMULATOR_DATA_FILE || undefined,
  mediaPort: Number(process.env.EMULATOR_MEDIA_PORT || 0),
  mediaCaFile: process.env.EMULATOR_MEDIA_CA_FILE || undefined,
});
console.log(
  JSON.stringify({
    event: 'emulator.ready',
    url: emulator.url,
    controlUrl: emulator.controlUrl,
    rootPublicKey: emulator.rootPublicKey,
    mediaUrl: emulator.mediaUrl,
    ...(emulator.mediaCaFile ? { mediaCaFile: emulator.mediaCaFile } : {}),
  }),
);

const stop = async () => {
  await emulator.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
