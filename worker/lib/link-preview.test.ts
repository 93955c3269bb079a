// Reading a page's title and description for a text's link preview, without a DOM (the Worker has none in tests).
import { describe, expect, it } from 'vitest';
import { firstUrl, linkPreviewOf, pageSummary } from './link-preview';

describe('link previews', () => {
  it('finds the first http(s) link as the text has it, without trailing punctuation', () => {
    expect(firstUrl('see https://example.com/a?b=1, then http://x.org')).toBe('https://example.com/a?b=1');
    expect(firstUrl('(https://example.com/path).')).toBe('https://example.com/path');
    expect(firstUrl('no link, ftp://example.com or example.com')).toBeUndefined();
  });

  it('prefers Open Graph tags, falls back to <title> and the meta description, decodes entities', () => {
    const og = `<html><head><title>Plain</title><meta content="Caf&eacute; &amp; bar" property="og:title">
      <meta name='description' content='fallback'><meta property="og:description" content="Open  late&#33;"></head></html>`;
    expect(pageSummary(og)).toEqual({ title: 'Caf&eacute; & bar', description: 'Open late!' });
    expect(pageSummary('<title>\n  Just a title </title><meta name="description" content="About us">')).toEqual({ title: 'Just a title', description: 'About us' });
    expect(pageSummary('<p>nothing</p>')).toEqual({ title: undefined, description: undefined });
    expect([...pageSummary(`<title>${'é'.repeat(400)}</title>`).title!]).toHaveLength(256);
  });

  it('gives no preview for a text without a link or a link to a private address, without fetching', async () => {
    expect(await linkPreviewOf('hello', {})).toBeUndefined();
    expect(await linkPreviewOf('see http://10.0.0.1/admin', {})).toBeUndefined();
    expect(await linkPreviewOf('see http://localhost:8080/', {})).toBeUndefined();
  });
});
