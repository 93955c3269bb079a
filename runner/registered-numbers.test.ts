import { describe, expect, it } from 'vitest';
import { RegisteredNumbers } from './registered-numbers.js';

const A = '4915550001@s.whatsapp.net';
const B = '4915550002@s.whatsapp.net';

function counting(answers: Record<string, boolean>) {
  const asked: string[] = [];
  const lookup = async (jid: string) => {
    asked.push(jid);
    return answers[jid] ?? false;
  };
  return { asked, lookup };
}

describe('RegisteredNumbers', () => {
  it('asks once per number and remembers the answer', async () => {
    const numbers = new RegisteredNumbers();
    const { asked, lookup } = counting({ [A]: true });
    expect(await numbers.exists(A, lookup)).toBe(true);
    expect(await numbers.exists(A, lookup)).toBe(true);
    expect(await numbers.exists(B, lookup)).toBe(false);
    expect(asked).toEqual([A, B]);
  });

  it('believes "no WhatsApp" only briefly, "has WhatsApp" for long', async () => {
    let now = 0;
    const numbers = new RegisteredNumbers({ positiveTtlMs: 10_000, negativeTtlMs: 100, now: () => now });
    const answers: Record<string, boolean> = { [A]: true };
    const { asked, lookup } = counting(answers);
    await numbers.exists(A, lookup);
    await numbers.exists(B, lookup);
    now = 150;
    answers[B] = true; // registered meanwhile
    expect(await numbers.exists(B, lookup)).toBe(true);
    expect(await numbers.exists(A, lookup)).toBe(true);
    expect(asked).toEqual([A, B, B]);
    now = 10_001;
    await numbers.exists(A, lookup);
    expect(asked).toEqual([A, B, B, A]);
  });

  it('shares one lookup between concurrent asks, and forgets a failed one', async () => {
    const numbers = new RegisteredNumbers();
    let calls = 0;
    let release!: (v: boolean) => void;
    const lookup = () => {
      calls++;
      return new Promise<boolean>(r => (release = r));
    };
    const both = Promise.all([numbers.exists(A, lookup), numbers.exists(A, lookup)]);
    release(true);
    expect(await both).toEqual([true, true]);
    expect(calls).toBe(1);

    const failing = () => Promise.reject(new Error('socket closed'));
    await expect(numbers.exists(B, failing)).rejects.toThrow('socket closed');
    expect(await numbers.exists(B, async () => true)).toBe(true);
  });

  it('is bounded: the oldest answer is forgotten first', async () => {
    const numbers = new RegisteredNumbers({ maxEntries: 2 });
    const { asked, lookup } = counting({});
    for (const n of ['1', '2', '3']) await numbers.exists(`${n}@s.whatsapp.net`, lookup);
    await numbers.exists('3@s.whatsapp.net', lookup);
    await numbers.exists('2@s.whatsapp.net', lookup);
    expect(asked).toEqual(['1', '2', '3'].map(n => `${n}@s.whatsapp.net`));
    await numbers.exists('1@s.whatsapp.net', lookup);
    expect(asked).toHaveLength(4);
  });
});
