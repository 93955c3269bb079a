import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { consoleText, dropLibsignalChatter, routeConsoleTo } from './library-console.js';

const require = createRequire(import.meta.url);

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('library console output', () => {
  let restore: (() => void) | undefined;
  afterEach(() => restore?.());

  it("libsignal's session records reach the log without their keys", () => {
    const { logger, lines } = capturingLogger();
    restore = routeConsoleTo(logger);
    // What libsignal does when a contact's new prekey bundle replaces a session (every re-link, often).
    const { SessionRecord } = require('libsignal') as { SessionRecord: { new (): LibsignalRecord; createEntry(): Record<string, unknown> } };
    const privKey = Buffer.from('0123456789abcdef0123456789abcdef');
    const rootKey = Buffer.from('fedcba9876543210fedcba9876543210');
    const entry = SessionRecord.createEntry();
    entry.registrationId = 58;
    entry.currentRatchet = { ephemeralKeyPair: { pubKey: Buffer.alloc(33, 5), privKey }, rootKey, previousCounter: 0 };
    entry.indexInfo = { baseKey: Buffer.alloc(33, 7), baseKeyType: 2, closed: -1, used: 1, remoteIdentityKey: Buffer.alloc(33, 9) };
    const record = new SessionRecord();
    record.setSession(entry);
    record.closeSession(entry);
    console.error('Session error:Error: Bad MAC', 'at decrypt (session_cipher.js:1)');

    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [20, 'Closing session: [SessionEntry]'],
      [40, 'Session error:Error: Bad MAC at decrypt (session_cipher.js:1)'],
    ]);
    const logged = JSON.stringify(lines);
    for (const secret of [privKey, rootKey]) {
      for (const encoding of ['hex', 'base64', 'latin1'] as const) expect(logged).not.toContain(secret.toString(encoding).slice(0, 16));
      // util.inspect's Buffer form: "<Buffer 30 31 32 …>"
      expect(logged).not.toContain([...secret.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' '));
    }
  });

  it("elsewhere (emulator, bare Baileys) libsignal's session chatter is dropped and everything else printed", () => {
    const printed: unknown[][] = [];
    const original = console.info;
    console.info = (...args: unknown[]) => void printed.push(args);
    try {
      restore = dropLibsignalChatter();
      expect(dropLibsignalChatter()).toBe(restore); // once per process
      const { SessionRecord } = require('libsignal') as { SessionRecord: { new (): LibsignalRecord; createEntry(): Record<string, unknown> } };
      const entry = SessionRecord.createEntry();
      entry.indexInfo = { baseKey: Buffer.alloc(33, 7), baseKeyType: 2, closed: -1, used: 1 };
      const record = new SessionRecord();
      record.setSession(entry);
      record.closeSession(entry);
      console.info('something else', 1);
      expect(printed).toEqual([['something else', 1]]);
    } finally {
      restore?.();
      restore = undefined;
      console.info = original;
    }
  });

  it('keeps text, numbers and error messages; reduces other objects to their class; restores the console', () => {
    expect(consoleText(['Migrating session to:', 2])).toBe('Migrating session to: 2');
    expect(consoleText(['%s of %d', 'one', 3, { secret: 'x' }])).toBe('one of 3 [Object]');
    expect(consoleText([new TypeError('boom'), Buffer.from('key')])).toBe('TypeError: boom [Buffer]');
    expect(consoleText([null, undefined])).toBe('null undefined');
    const original = console.info;
    const { logger } = capturingLogger();
    routeConsoleTo(logger)();
    expect(console.info).toBe(original);
  });
});

interface LibsignalRecord {
  setSession(entry: Record<string, unknown>): void;
  closeSession(entry: Record<string, unknown>): void;
}
