// Public surface of the emulator for the runner and other test suites.
export { startEmulator, type EmulatorOptions, type RunningEmulator } from './emulator.js';
export { mediaTrustOptions, trustEmulatorRoot, trustEmulatorRootFromEnv } from './trust.js';
