// What a file sent through the API is: its WhatsApp media type and the mimetype it goes out with. Pure,
// shared by the Worker (which resolves the mimetype before the runner sees the send) and its tests.

export const mediaTypes = ['image', 'document', 'audio', 'video'] as const;
export type MediaType = (typeof mediaTypes)[number];

/** Common extensions; anything else falls back to the type's default. */
const BY_EXTENSION: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  '3gp': 'video/3gpp',
  mov: 'video/quicktime',
  webm: 'video/webm',
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/ogg; codecs=opus',
  wav: 'audio/wav',
  amr: 'audio/amr',
  pdf: 'application/pdf',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  ppt: 'application/vnd.ms-powerpoint',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text',
  ods: 'application/vnd.oasis.opendocument.spreadsheet',
  txt: 'text/plain',
  csv: 'text/csv',
  json: 'application/json',
  xml: 'application/xml',
  html: 'text/html',
  zip: 'application/zip',
  gz: 'application/gzip',
  rar: 'application/vnd.rar',
  '7z': 'application/x-7z-compressed',
  apk: 'application/vnd.android.package-archive',
  vcf: 'text/vcard',
};

/** Content types that say nothing about the file (servers answer them for anything). */
const UNINFORMATIVE = new Set(['application/octet-stream', 'binary/octet-stream', 'application/binary', 'application/unknown']);

/** The mimetype a file name's extension implies, if it is a common one. */
export function mimetypeFromName(name: string | undefined | null): string | undefined {
  const m = /\.([a-z0-9]{1,8})$/i.exec(name ?? '');
  return m ? BY_EXTENSION[m[1]!.toLowerCase()] : undefined;
}

/** What a file of this type is taken to be when nothing else says: WhatsApp's own usual formats. */
export function defaultMimetype(type: MediaType, ptt = false): string {
  switch (type) {
    case 'image':
      return 'image/jpeg';
    case 'video':
      return 'video/mp4';
    case 'audio':
      // Voice notes are Opus in Ogg; other audio is most often MP3.
      return ptt ? 'audio/ogg; codecs=opus' : 'audio/mpeg';
    case 'document':
      return 'application/octet-stream';
  }
}

/** Whether a mimetype fits the media type: images must be image/*, and so on; a document may be anything. */
export function mimetypeFits(type: MediaType, mimetype: string): boolean {
  return type === 'document' || mimetype.toLowerCase().startsWith(`${type}/`);
}

export interface MediaNaming {
  type: MediaType;
  mimetype?: string;
  filename?: string;
  ptt?: boolean;
}

/** What the file itself tells: its first bytes, and when it was fetched the server's Content-Type and the URL's last path segment. */
export interface MediaSourceHints {
  bytes?: Uint8Array;
  contentType?: string | null;
  name?: string | null;
}

const startsWith = (bytes: Uint8Array, prefix: readonly number[], at = 0) => prefix.every((b, i) => bytes[at + i] === b);
const ascii = (text: string) => Array.from(text, (ch) => ch.charCodeAt(0));

/** The format a file's first bytes unmistakably announce (a few common ones; undefined otherwise). */
export function sniffMimetype(bytes: Uint8Array | undefined): string | undefined {
  if (!bytes) return undefined;
  if (startsWith(bytes, [0x89, ...ascii('PNG\r\n'), 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) return 'image/gif';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'image/webp';
  if (startsWith(bytes, ascii('%PDF-'))) return 'application/pdf';
  return undefined;
}

/**
 * The mimetype a file goes out with: the caller's, else the one its `filename` implies, else the one its
 * first bytes announce, else (for a URL) the server's Content-Type when it is informative, else the URL's
 * extension — each only if it fits the type — else the type's default (image/jpeg, video/mp4, audio/mpeg
 * or Opus for a voice note, application/octet-stream).
 */
export function resolveMimetype(media: MediaNaming, hints: MediaSourceHints = {}): string {
  if (media.mimetype) return media.mimetype;
  const candidates = [mimetypeFromName(media.filename), sniffMimetype(hints.bytes), served(hints.contentType), mimetypeFromName(hints.name)];
  return candidates.find((m): m is string => !!m && mimetypeFits(media.type, m)) ?? defaultMimetype(media.type, media.ptt);
}

function served(contentType: string | null | undefined): string | undefined {
  const value = contentType?.trim();
  if (!value) return undefined;
  const essence = value.split(';')[0]!.trim().toLowerCase();
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(essence) || UNINFORMATIVE.has(essence)) return undefined;
  return value.length <= 255 ? value : essence;
}
