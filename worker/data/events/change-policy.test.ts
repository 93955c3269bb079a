// Who may change a stored message, and what each change does: the pure fold, without a database.
import { describe, expect, it } from 'vitest';
import type { MessageChange } from '../../../protocol/runner';
import { applyChange, isSenderOf, type ChangeableMessage } from './change-policy';

const ALICE = '15550001111@s.whatsapp.net';
const BOB = '15550002222@s.whatsapp.net';
const base: ChangeableMessage = { chatId: ALICE, direction: 'inbound', fromJid: ALICE, type: 'text', text: 'hi', editedAt: null, deletedAt: null, edits: [], reactions: [], pollVotes: null };
const fact = (change: MessageChange, o: { author?: string | null; fromMe?: boolean; t?: string; byAdmin?: boolean } = {}) => ({
  fromMe: o.fromMe ?? false,
  author: o.fromMe ? null : (o.author ?? ALICE),
  byAdmin: o.byAdmin,
  timestamp: o.t ?? '2026-01-01T00:00:01.000Z',
  change,
});

describe('the change policy', () => {
  it('knows a sender by its stored JID (device suffix aside), and our own messages by from_me', () => {
    expect(isSenderOf(base, { fromMe: false, author: '15550001111:4@s.whatsapp.net' })).toBe(true);
    expect(isSenderOf(base, { fromMe: false, author: BOB })).toBe(false);
    expect(isSenderOf(base, { fromMe: true, author: null })).toBe(false);
    expect(isSenderOf({ ...base, direction: 'outbound', fromJid: null }, { fromMe: true, author: null })).toBe(true);
  });

  it('refuses an edit or a revoke by anyone but the sender; a group admin may revoke', () => {
    expect(applyChange(base, fact({ kind: 'edit', text: 'x' }, { author: BOB }))).toEqual({ applied: false, reason: 'refused' });
    expect(applyChange(base, fact({ kind: 'revoke' }, { author: BOB, byAdmin: true }))).toEqual({ applied: false, reason: 'refused' });
    const group = { ...base, chatId: '1203@g.us' };
    expect(applyChange(group, fact({ kind: 'revoke' }, { author: BOB }))).toEqual({ applied: false, reason: 'refused' });
    expect(applyChange(group, fact({ kind: 'revoke' }, { author: BOB, byAdmin: true }))).toMatchObject({ applied: true, effect: { event: 'message.deleted', by: BOB } });
  });

  it('an edit keeps the text it replaces; an older or repeated one, or one of a revoked message, changes nothing', () => {
    const v = applyChange(base, fact({ kind: 'edit', text: 'hello' }, { t: '2026-01-01T00:00:05.000Z' }));
    if (!v.applied) throw new Error('refused');
    expect(v.message).toMatchObject({ text: 'hello', edits: [{ message: 'hi', replaced_at: '2026-01-01T00:00:05.000Z' }] });
    expect(applyChange(v.message, fact({ kind: 'edit', text: 'older' }, { t: '2026-01-01T00:00:04.000Z' }))).toEqual({ applied: false, reason: 'unchanged' });
    expect(applyChange({ ...base, deletedAt: new Date() }, fact({ kind: 'edit', text: 'x' }))).toEqual({ applied: false, reason: 'unchanged' });
  });

  it('a vote counts only on a poll, one current vote per voter', () => {
    expect(applyChange(base, fact({ kind: 'poll_vote', options: ['a'] }))).toEqual({ applied: false, reason: 'refused' });
    const poll = { ...base, type: 'poll' };
    const first = applyChange(poll, fact({ kind: 'poll_vote', options: ['a', 'a'] }));
    if (!first.applied) throw new Error('refused');
    const second = applyChange(first.message, fact({ kind: 'poll_vote', options: ['b'] }, { t: '2026-01-01T00:00:02.000Z' }));
    if (!second.applied) throw new Error('refused');
    expect(second.message.pollVotes).toEqual([{ voter: ALICE, options: ['b'], at: '2026-01-01T00:00:02.000Z' }]);
    expect(first.message.pollVotes).toEqual([{ voter: ALICE, options: ['a'], at: '2026-01-01T00:00:01.000Z' }]);
  });
});
