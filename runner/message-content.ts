// A send command as Baileys content: the one place the runner turns the wire shape of a send (protocol/runner.ts
// `send`: text, file, or structured `content`, with its quoted message and mentions) into Baileys'
// AnyMessageContent and the options of sock.sendMessage. Pure, so each kind is checked without a socket.
import { proto, type AnyMessageContent, type WAMessage, type WAMessageKey } from '@whiskeysockets/baileys';
import type { LinkPreview, MessageKey, QuotedMessage, SendContent, SendMedia } from '../protocol/runner.js';

export class ContentError extends Error {}

export const toWAMessageKey = (k: MessageKey): WAMessageKey => ({
  id: k.id,
  remoteJid: k.remote_jid,
  fromMe: k.from_me,
  ...(k.participant ? { participant: k.participant } : {}),
});

/** The Baileys content of a structured kind. */
export const structuredContent = (c: SendContent): AnyMessageContent => {
  switch (c.kind) {
    case 'location':
      return {
        location: {
          degreesLatitude: c.latitude,
          degreesLongitude: c.longitude,
          ...(c.name ? { name: c.name } : {}),
          ...(c.address ? { address: c.address } : {}),
        },
      };
    case 'contacts':
      return { contacts: { displayName: c.display_name, contacts: c.cards.map(card => ({ displayName: card.display_name, vcard: card.vcard })) } };
    case 'reaction':
      return { react: { text: c.emoji, key: toWAMessageKey(c.key) } };
    case 'poll':
      return { poll: { name: c.name, values: c.options, selectableCount: c.selectable_count } };
    case 'forward':
      return { forward: quotedMessage(c.message) };
  }
};

/** Refuses media sends that WhatsApp could not show as asked (checked before any download). */
export const checkMedia = (media: SendMedia, text: string): void => {
  if (media.kind === 'audio' && text) throw new ContentError('audio messages carry no caption: send the text separately');
  if (media.kind === 'sticker' && text) throw new ContentError('stickers carry no caption: send the text separately');
  if (media.ptt && media.kind !== 'audio') throw new ContentError('ptt is for audio only');
};

/** The Baileys content of a media send; `text` is the caption. */
export const mediaContent = (media: SendMedia, text: string, file: Buffer): AnyMessageContent => {
  const caption = text ? { caption: text } : {};
  switch (media.kind) {
    case 'image':
      return { image: file, mimetype: media.mimetype, ...caption };
    case 'video':
      return { video: file, mimetype: media.mimetype, ...caption };
    case 'document':
      return { document: file, mimetype: media.mimetype, fileName: media.filename ?? 'file', ...caption };
    case 'audio':
      return { audio: file, mimetype: media.mimetype, ptt: media.ptt ?? false };
    case 'sticker':
      // Baileys marks it image/webp itself; WhatsApp draws nothing else as a sticker.
      return { sticker: file };
  }
};

/**
 * A stored message (the one a reply quotes, or a forward sends) as Baileys wants it (a WAMessage). Its content arrives as proto JSON (what
 * the gateway stored, bytes as base64): `fromObject` turns it back into a proto, which Baileys re-encodes.
 */
export const quotedMessage = (q: QuotedMessage): WAMessage => {
  let message: proto.IMessage;
  try {
    message = proto.Message.fromObject(q.message);
  } catch (err) {
    throw new ContentError(`the stored message is not a WhatsApp message: ${(err as Error).message}`);
  }
  return { key: toWAMessageKey(q.key), message };
};

/** Adds the mentioned JIDs to a content that can carry them (a text or a caption). */
export const withMentions = (content: AnyMessageContent, mentions: string[] | undefined): AnyMessageContent => {
  if (!mentions?.length) return content;
  if (!('text' in content) && !('caption' in content)) throw new ContentError('mentions go with a text or a caption');
  return { ...content, mentions } as AnyMessageContent;
};

/**
 * A text, with its link preview when the control plane read one. Without one the preview is null, never
 * left to Baileys: its own fetcher would have the runner fetch whatever a tenant's text links to.
 */
export const textContent = (text: string, preview: LinkPreview | undefined): AnyMessageContent => ({
  text,
  linkPreview: preview
    ? { 'canonical-url': preview.url, 'matched-text': preview.matched_text, title: preview.title, ...(preview.description ? { description: preview.description } : {}) }
    : null,
});

/** A command's shape checked before any work: one kind, and only what that kind can carry. */
export const checkSend = (cmd: { text: string; media?: SendMedia; content?: SendContent; mentions?: string[]; quoted?: QuotedMessage; link_preview?: LinkPreview }): void => {
  if (cmd.link_preview && (cmd.media || cmd.content)) throw new ContentError('a link preview goes with a text only');
  if (cmd.media) checkMedia(cmd.media, cmd.text);
  if (cmd.content && (cmd.media || cmd.text)) throw new ContentError(`a ${cmd.content.kind} carries no text or file`);
  if (cmd.content?.kind === 'reaction' && cmd.quoted) throw new ContentError('a reaction quotes nothing');
  if (cmd.content && cmd.mentions?.length) throw new ContentError('mentions go with a text or a caption');
};
