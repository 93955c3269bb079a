// Small builders and readers for binary nodes shared by the emulator's modules.
import { getBinaryNodeChild, type BinaryNode } from '@whiskeysockets/baileys';
import { randomBytes } from 'node:crypto';

export const SERVER_JID = 's.whatsapp.net';
export const now = () => Math.floor(Date.now() / 1000);
export const newStanzaId = () => randomBytes(8).toString('hex').toUpperCase();
export const newMessageId = () => `3EB0${randomBytes(9).toString('hex').toUpperCase()}`;

export const iqResult = (iq: BinaryNode, content?: BinaryNode[]): BinaryNode => ({
  tag: 'iq',
  attrs: { id: iq.attrs.id!, type: 'result', from: SERVER_JID },
  ...(content ? { content } : {}),
});

export const iqError = (iq: BinaryNode, code: number, text: string): BinaryNode => ({
  tag: 'iq',
  attrs: { id: iq.attrs.id!, type: 'error', from: SERVER_JID },
  content: [{ tag: 'error', attrs: { code: String(code), text } }],
});

export const children = (node: BinaryNode | undefined): BinaryNode[] =>
  Array.isArray(node?.content) ? (node!.content as BinaryNode[]) : [];

export const bytesOf = (node: BinaryNode | undefined): Buffer | undefined => {
  const c = node?.content;
  if (c instanceof Uint8Array) return Buffer.from(c);
  if (typeof c === 'string') return Buffer.from(c, 'utf8');
  return undefined;
};

export const childBytes = (node: BinaryNode | undefined, tag: string) => bytesOf(node ? getBinaryNodeChild(node, tag) : undefined);

export const readUIntBE = (b: Buffer | undefined): number => (b && b.length ? b.readUIntBE(0, Math.min(b.length, 6)) : 0);

/** Real signature check (Baileys' own Curve.verify, unhardened, treats libsignal's `false` as success). */
export { signatureIsValid } from '../noise-trust.js';
