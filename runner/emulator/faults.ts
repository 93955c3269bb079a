import type { BinaryNode } from '@whiskeysockets/baileys';
// Scripted faults. One-shot actions hit live connections now; policies (ack handling, refused
// logins) stay on an account until cleared, so they also apply to the next connection.
export type StreamErrorKind = 515 | 401 | 'conflict' | 503;

export type FaultAction =
  | { action: 'drop-socket' }
  | { action: 'stream-error'; code: StreamErrorKind }
  | { action: 'acks'; mode: 'normal' | 'drop' | 'delay'; delayMs?: number }
  | { action: 'refuse-logins'; reason?: number | null }
  | { action: 'contact-lookups'; mode: ContactLookupMode };

/** How "who is on WhatsApp" queries (usync with the contact protocol) are answered: normally, with an error, or never. */
export type ContactLookupMode = 'normal' | 'error' | 'drop';

export type FaultPolicy = {
  acks: { mode: 'normal' | 'drop' | 'delay'; delayMs: number };
  /** `<failure reason>` sent instead of `<success>` while set. */
  refuseLoginReason: number | null;
  contactLookups: ContactLookupMode;
};

export const defaultPolicy = (): FaultPolicy => ({ acks: { mode: 'normal', delayMs: 0 }, refuseLoginReason: null, contactLookups: 'normal' });

/** The stream:error stanza Baileys maps to the matching DisconnectReason. */
export const streamErrorNode = (kind: StreamErrorKind): BinaryNode => {
  switch (kind) {
    case 'conflict':
      return { tag: 'stream:error', attrs: {}, content: [{ tag: 'conflict', attrs: { type: 'replaced' } }] };
    case 401:
      return { tag: 'stream:error', attrs: { code: '401' }, content: [{ tag: 'conflict', attrs: { type: 'device_removed' } }] };
    default:
      return { tag: 'stream:error', attrs: { code: String(kind) } };
  }
};

export const parseFault = (body: Record<string, unknown>): FaultAction => {
  switch (body.action) {
    case 'drop-socket':
      return { action: 'drop-socket' };
    case 'stream-error': {
      const code = body.code === 'conflict' ? 'conflict' : Number(body.code);
      if (code !== 'conflict' && ![515, 401, 503].includes(code)) throw new Error('code must be 515, 401, 503 or "conflict"');
      return { action: 'stream-error', code: code as StreamErrorKind };
    }
    case 'acks': {
      const mode = body.mode;
      if (mode !== 'normal' && mode !== 'drop' && mode !== 'delay') throw new Error('mode must be normal, drop or delay');
      return { action: 'acks', mode, delayMs: Number(body.delayMs ?? 0) };
    }
    case 'refuse-logins':
      return { action: 'refuse-logins', reason: body.reason === null ? null : Number(body.reason ?? 401) };
    case 'contact-lookups': {
      const mode = body.mode;
      if (mode !== 'normal' && mode !== 'error' && mode !== 'drop') throw new Error('mode must be normal, error or drop');
      return { action: 'contact-lookups', mode };
    }
    default:
      throw new Error('action must be drop-socket, stream-error, acks, refuse-logins or contact-lookups');
  }
};
