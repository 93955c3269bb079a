import { describe, expect, it } from 'vitest';
import { BoundedMap } from './bounded-map.js';

describe('BoundedMap', () => {
  it('keeps the newest `max` entries; setting a key again makes it the newest', () => {
    const m = new BoundedMap<string, number>(2);
    m.set('a', 1).set('b', 2).set('a', 3).set('c', 4);
    expect([...m]).toEqual([
      ['a', 3],
      ['c', 4],
    ]);
  });
});
