// Optional snapshot of emulator state to a JSON file, so a sandbox survives restarts.
// Buffers are written as {"$b64": "..."} and revived on load.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const replacer = function (this: Record<string, unknown>, key: string, value: unknown) {
  const raw = this[key];
  if (raw instanceof Uint8Array) return { $b64: Buffer.from(raw).toString('base64') };
  if (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return { $b64: Buffer.from((value as { data: number[] }).data).toString('base64') };
  }
  return value;
};

const reviver = (_key: string, value: unknown) =>
  value && typeof value === 'object' && typeof (value as { $b64?: unknown }).$b64 === 'string'
    ? Buffer.from((value as { $b64: string }).$b64, 'base64')
    : value;

export const encodeSnapshot = (state: unknown): string => JSON.stringify(state, replacer);
export const decodeSnapshot = <T>(text: string): T => JSON.parse(text, reviver) as T;

export const loadSnapshot = <T>(file: string): T | undefined =>
  existsSync(file) ? decodeSnapshot<T>(readFileSync(file, 'utf8')) : undefined;

export const saveSnapshot = (file: string, state: unknown) => {
  // Write then rename so a crash mid-write never leaves a truncated file.
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, encodeSnapshot(state));
  renameSync(tmp, file);
};
