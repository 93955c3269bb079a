import { describe, expect, it } from 'vitest';
import { findSecrets } from './secret-scan';

describe('findSecrets', () => {
  const exact = new Map([['RUNNER_TOKEN', 'rt-0123456789abcdef'], ['SHORT', 'abc']]);

  it('finds what the gateway issues, key material and the exact secrets, by line, without repeating them', () => {
    const text = [
      '{"level":"info","msg":"started"}',
      `{"msg":"auth","header":"Bearer sk_live_${'A'.repeat(43)}"}`,
      `secret=whsec_${'b'.repeat(32)}`,
      `cookie: sb_session=${'c'.repeat(43)}`,
      '{"creds":{"noiseKey":{"private":"AAAA","public":"BBBB"}}}',
      'token rt-0123456789abcdef in a URL',
      `{"authorization":"Bearer sbr_eu-1_${'0a'.repeat(32)}"}`,
    ].join('\n');
    const found = findSecrets(text, 'runner.log', exact);
    expect(found.map((f) => [f.what, f.line])).toEqual([
      ['an API key', 2],
      ['a webhook secret', 3],
      ['a dashboard session cookie', 4],
      ['WhatsApp key material', 5],
      ['RUNNER_TOKEN', 6],
      ['a runner token', 7],
    ]);
    expect(JSON.stringify(found)).not.toContain('rt-0123456789abcdef');
  });

  it('leaves alone what only looks like them: prefixes, made-up keys, short values', () => {
    const text = ['key sk_live_not-a-real-key refused', 'prefix sk_live_AbCdEf', 'whsec_ (shown once)', 'sbr_eu-1_<secret>', 'abc abc', '"public":"x"'].join('\n');
    expect(findSecrets(text, 'worker.log', exact)).toEqual([]);
  });
});
