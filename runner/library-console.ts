// Libraries under Baileys print to the console on their own, and libsignal prints whole session records
// ("Closing session: SessionEntry { … privKey: <Buffer …>, rootKey: <Buffer …> }"): the private ratchet
// and root keys of a tenant's WhatsApp sessions. A gateway's logs leave the machine (log shippers,
// aggregators, support tickets), so key material must never reach them. Whatever a library prints goes
// through the runner's logger instead, as text only: strings, numbers and error messages are kept, any
// other object is reduced to its class name.
import { format } from 'node:util';
import type { Logger } from 'pino';

type ConsoleMethod = 'log' | 'info' | 'debug' | 'trace' | 'warn' | 'error';

/** libsignal's warnings are routine ("Closing open session in favor of incoming prekey bundle"); its errors are not. */
const LEVEL: Record<ConsoleMethod, 'debug' | 'warn'> = {
  log: 'debug',
  info: 'debug',
  debug: 'debug',
  trace: 'debug',
  warn: 'debug',
  error: 'warn',
};

function textOnly(arg: unknown): unknown {
  if (arg === null || arg === undefined) return arg;
  if (typeof arg !== 'object' && typeof arg !== 'function') return arg;
  if (arg instanceof Error) return `${arg.name}: ${arg.message}`;
  const name = (arg as { constructor?: { name?: string } }).constructor?.name;
  return `[${name || typeof arg}]`;
}

/** The text a console call would print, with every object but errors reduced to `[ClassName]`. */
export function consoleText(args: unknown[]): string {
  const [first, ...rest] = args.map(textOnly);
  // A format string's own placeholders (%s, %d…) still apply, to the reduced arguments.
  return typeof first === 'string' ? format(first, ...rest) : format('%s', first, ...rest);
}

/** Sends console output to `logger` (see the head of this file). Returns a function that puts the console back. */
export function routeConsoleTo(logger: Logger): () => void {
  const methods = Object.keys(LEVEL) as ConsoleMethod[];
  const originals = new Map(methods.map((m) => [m, console[m]] as const));
  for (const m of methods) {
    console[m] = (...args: unknown[]) => logger[LEVEL[m]]({ source: 'console' }, consoleText(args));
  }
  return () => {
    for (const [m, original] of originals) console[m] = original;
  };
}

/** What libsignal prints on every session change (whole session records, keys included), and nothing else. */
const LIBSIGNAL_CHATTER =
  /^(Closing session:|Opening session:|Removing old closed session:|Closing open session in favor of incoming prekey bundle|Closing stale open session|Session already (closed|open)|Migrating session to:|Decrypted message with closed session\.)/;

let chatterDropped: (() => void) | undefined;

/**
 * For processes other than the runner that run libsignal (the emulator's simulated phones and contacts,
 * bare Baileys in benchmarks): drops libsignal's session chatter and lets every other console call through.
 * Installed once per process; returns a function that puts the console back.
 */
export function dropLibsignalChatter(): () => void {
  if (chatterDropped) return chatterDropped;
  const methods = ['log', 'info', 'warn'] as const;
  const originals = new Map(methods.map((m) => [m, console[m]] as const));
  for (const [m, original] of originals) {
    console[m] = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && LIBSIGNAL_CHATTER.test(args[0])) return;
      original.apply(console, args);
    };
  }
  chatterDropped = () => {
    for (const [m, original] of originals) console[m] = original;
    chatterDropped = undefined;
  };
  return chatterDropped;
}
