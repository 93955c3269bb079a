// check-numbers' one decision: matching a single usync answer (only the numbers WhatsApp has, by the JID it has
// them under) to the numbers asked, with the runner's memory of earlier answers.
import { describe, expect, it } from 'vitest';
import { checkNumbers, type NumbersQuery } from './chat-actions.js';
import { RegisteredNumbers } from './registered-numbers.js';

const A = '15550000001@s.whatsapp.net';
const B = '15550000002@s.whatsapp.net';
const C = '15550000003@s.whatsapp.net';

/** A usync that knows `registered` (asked JID → JID it is under) and records every query. */
const usync = (registered: Record<string, string>) => {
  const queries: string[][] = [];
  const query: NumbersQuery = async (...jids) => {
    queries.push(jids);
    return jids.filter((j) => registered[j]).map((j) => ({ jid: registered[j]!, exists: true }));
  };
  return { query, queries };
};

describe('check-numbers', () => {
  it('asks every number in one query and answers in the order given, duplicates included', async () => {
    const { query, queries } = usync({ [A]: A, [C]: C });
    expect(await checkNumbers([A, B, C, A], query)).toEqual([
      { jid: A, exists: true, registered_jid: A },
      { jid: B, exists: false, registered_jid: null },
      { jid: C, exists: true, registered_jid: C },
      { jid: A, exists: true, registered_jid: A },
    ]);
    expect(queries).toEqual([[A, B, C]]);
  });

  it('a number WhatsApp has under another JID is asked again alone, to tell which it was', async () => {
    const dialled = '155590000001@s.whatsapp.net';
    const { query, queries } = usync({ [dialled]: A, [B]: B });
    expect(await checkNumbers([dialled, B, C], query)).toEqual([
      { jid: dialled, exists: true, registered_jid: A },
      { jid: B, exists: true, registered_jid: B },
      { jid: C, exists: false, registered_jid: null },
    ]);
    expect(queries).toEqual([[dialled, B, C], [dialled], [C]]);
  });

  it('answers what the runner remembers without asking, and remembers what it asked', async () => {
    const memory = new RegisteredNumbers();
    const first = usync({ [A]: A });
    await checkNumbers([A, B], first.query, memory);
    const second = usync({ [A]: A, [B]: B });
    expect(await checkNumbers([A, B, C], second.query, memory)).toEqual([
      { jid: A, exists: true, registered_jid: A },
      { jid: B, exists: false, registered_jid: null },
      { jid: C, exists: false, registered_jid: null },
    ]);
    expect(second.queries).toEqual([[C]]);
    expect(await memory.registeredJid(A, async () => 'never asked')).toBe(A);
  });
});
