// The link preview of a text with a URL: the Worker fetches the page itself, under the rules of
// send-message's media URLs (public targets only, bounded size and time), and reads its title and
// description; the runner only passes them to Baileys. Runners never fetch what a tenant's text links to
// (they download only from the control plane), and Baileys' own preview fetcher stays off.
// A preview is a courtesy: any failure sends the text without one.
import type { LinkPreview } from '../../protocol/runner';
import { fetchMedia, mediaSourcePolicy } from './media-source';

/** A page is read for its head: a larger one gets no preview. */
const MAX_PAGE_BYTES = 1024 * 1024;
/** How long a send may wait for the page (the send itself waits for nothing else first). */
export const LINK_PREVIEW_TIMEOUT_MS = 3_000;
const MAX_TITLE = 256;
const MAX_DESCRIPTION = 1024;

/** The first http(s) URL in a text, as written (what WhatsApp underlines), trailing punctuation left out. */
export function firstUrl(text: string): string | undefined {
  const m = /\bhttps?:\/\/[^\s<>"']+/i.exec(text);
  return m?.[0].replace(/[.,;:!?)\]}]+$/, '');
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
const decodeEntities = (s: string) =>
  s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (all, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : all;
    }
    return ENTITIES[e.toLowerCase()] ?? all;
  });
const clean = (s: string | undefined, max: number) => {
  const v = s === undefined ? '' : decodeEntities(s).replace(/\s+/g, ' ').trim();
  return v ? [...v].slice(0, max).join('') : undefined;
};

/** The attributes of one tag, lower-cased names. */
const attributesOf = (tag: string) => {
  const attrs: Record<string, string> = {};
  for (const m of tag.matchAll(/([a-z:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi)) attrs[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? m[4] ?? '';
  return attrs;
};

/** Title and description from a page's Open Graph tags, else its <title> and meta description. */
export function pageSummary(html: string): { title?: string; description?: string } {
  const meta: Record<string, string> = {};
  for (const m of html.matchAll(/<meta\b[^>]*>/gi)) {
    const a = attributesOf(m[0]);
    const name = (a.property ?? a.name)?.toLowerCase();
    if (name && a.content !== undefined && !(name in meta)) meta[name] = a.content;
  }
  const title = meta['og:title'] ?? meta['twitter:title'] ?? /<title\b[^>]*>([^<]*)<\/title>/i.exec(html)?.[1];
  const description = meta['og:description'] ?? meta['twitter:description'] ?? meta.description;
  return { title: clean(title, MAX_TITLE), description: clean(description, MAX_DESCRIPTION) };
}

/** The preview of the first URL in `text`, or undefined (no URL, not a public page, no title, too slow, too large). */
export async function linkPreviewOf(text: string, env: { ALLOW_PRIVATE_MEDIA_SOURCES?: string }): Promise<LinkPreview | undefined> {
  const matched = firstUrl(text);
  if (!matched) return undefined;
  try {
    const page = await fetchMedia(matched, { policy: mediaSourcePolicy(env), maxBytes: MAX_PAGE_BYTES, timeoutMs: LINK_PREVIEW_TIMEOUT_MS });
    if (page.contentType && !/html/i.test(page.contentType)) return undefined;
    const { title, description } = pageSummary(new TextDecoder().decode(page.bytes));
    if (!title) return undefined;
    return { url: matched, matched_text: matched, title, ...(description ? { description } : {}) };
  } catch {
    return undefined;
  }
}
