import { describe, expect, it } from 'vitest';
import { RegisteredNumbers } from './registered-numbers.js';

const A = '4915550001@s.whatsapp.net';
const B = '4915550002@s.whatsapp.net';

function counting(answers: Record<string, boolean>) {
  const asked: string[] = [];
  const lookup = async (jid: string) => {
    asked.push(jid);
    return answers[jid] ? jid : null;
  };
  return { asked, lookup };
}

describe('RegisteredNumbers', () => {
  it('remembers the registered JID a number was found under', async () => {
    const numbers = new RegisteredNumbers();
    const dialled = '5511987654321@s.whatsapp.net';
    const registered = '551187654321@s.whatsapp.net';
    let calls = 0;
    const lookup = async () => (calls++, registered);
    expect(await numbers.registeredJid(dialled, lookup)).toBe(registered);
    expect(await numbers.registeredJid(dialled, lookup)).toBe(registered);
    expect(calls).toBe(1);
  });

  it('asks once per number and remembers the answer', async () => {
    const numbers = new RegisteredNumbers();
    const { asked, lookup } = counting({ [A]: true });
    expect(await numbers.registeredJid(A, lookup)).toBe(A);
    expect(await numbers.registeredJid(A, lookup)).toBe(A);
    expect(await numbers.registeredJid(B, lookup)).toBeNull();
    expect(asked).toEqual([A, B]);
  });

  it('believes "no WhatsApp" only briefly, "has WhatsApp" for long', async () => {
    let now = 0;
    const numbers = new RegisteredNumbers({ positiveTtlMs: 10_000, negativeTtlMs: 100, now: () => now });
    const answers: Record<string, boolean> = { [A]: true };
    const { asked, lookup } = counting(answers);
    await numbers.registeredJid(A, lookup);
    await numbers.registeredJid(B, lookup);
    now = 150;
    answers[B] = true; // registered meanwhile
    expect(await numbers.registeredJid(B, lookup)).toBe(B);
    expect(await numbers.registeredJid(A, lookup)).toBe(A);
    expect(asked).toEqual([A, B, B]);
    now = 10_001;
    await numbers.registeredJid(A, lookup);
    expect(asked).toEqual([A, B, B, A]);
  });

  it('shares one lookup between concurrent asks, and forgets a failed one', async () => {
    const numbers = new RegisteredNumbers();
    let calls = 0;
    let release!: (v: string | null) => void;
    const lookup = () => {
      calls++;
      return new Promise<string | null>(r => (release = r));
    };
    const both = Promise.all([numbers.registeredJid(A, lookup), numbers.registeredJid(A, lookup)]);
    release(A);
    expect(await both).toEqual([A, A]);
    expect(calls).toBe(1);

    const failing = () => Promise.reject(new Error('socket closed'));
    await expect(numbers.registeredJid(B, failing)).rejects.toThrow('socket closed');
    expect(await numbers.registeredJid(B, async () => B)).toBe(B);
  });

  it('is bounded: the oldest answer is forgotten first', async () => {
    const numbers = new RegisteredNumbers({ maxEntries: 2 });
    const { asked, lookup } = counting({});
    for (const n of ['1', '2', '3']) await numbers.registeredJid(`${n}@s.whatsapp.net`, lookup);
    await numbers.registeredJid('3@s.whatsapp.net', lookup);
    await numbers.registeredJid('2@s.whatsapp.net', lookup);
    expect(asked).toEqual(['1', '2', '3'].map(n => `${n}@s.whatsapp.net`));
    await numbers.registeredJid('1@s.whatsapp.net', lookup);
    expect(asked).toHaveLength(4);
  });
});
