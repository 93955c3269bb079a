import { describe, expect, it } from 'vitest';
import { errorText } from './error-text';

describe('error text for logs', () => {
  it('keeps a failed query to its cause, without the parameters', () => {
    const e = new Error('Failed query: insert into messages (text) values ($1)\nparams: a secret message', { cause: new Error('relation "messages" does not exist') });
    expect(errorText(e)).toBe('relation "messages" does not exist');
    expect(errorText(new Error('Failed query: select 1\nparams: +15550001111'))).toBe('Failed query: select 1');
    expect(errorText('x'.repeat(2000))).toHaveLength(500);
  });
});
