// The mapping of Baileys' edits, revokes, reactions and poll votes to message.change events, without a socket.
import { randomBytes } from 'node:crypto';
import { proto, type WAMessage } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { RunnerEvent } from '../protocol/runner.js';
import { encryptPollVote } from './emulator/message-changes.js';
import { bytesFromJson, changeOf, decryptVote, isChangeMessage, MessageChanges, pollSourceFromStored, pollSourceOf } from './message-changes.js';

const NOW = Date.parse('2026-01-02T03:04:05.000Z');
const ALICE = '15550001111@s.whatsapp.net';
const ME = '15559990000:3@s.whatsapp.net';
const GROUP = '120363000000000001@g.us';
const msg = (message: proto.IMessage, key: Partial<WAMessage['key']> = {}): WAMessage => ({
  key: { remoteJid: ALICE, fromMe: false, id: 'CHANGE1', ...key },
  message,
  messageTimestamp: NOW / 1000,
});
const { MESSAGE_EDIT, REVOKE } = proto.Message.ProtocolMessage.Type;

describe('edits, revokes and reactions', () => {
  it('an edit names its target, its author and the new text, at the edit time', () => {
    const m = msg({ protocolMessage: { type: MESSAGE_EDIT, key: { id: 'TARGET', remoteJid: ALICE, fromMe: true }, editedMessage: { conversation: 'new' }, timestampMs: NOW + 5 } });
    expect(isChangeMessage(m)).toBe(true);
    const e = changeOf(m, NOW)!;
    expect(RunnerEvent.parse(e)).toEqual(e);
    expect(e).toEqual({
      id: 'chg:CHANGE1',
      at: new Date(NOW).toISOString(),
      type: 'message.change',
      chat_id: ALICE,
      target_id: 'TARGET',
      from_me: false,
      author: ALICE,
      timestamp: new Date(NOW + 5).toISOString(),
      change: { kind: 'edit', text: 'new' },
    });
  });

  it('a revoke from another device of ours has no author; a group revoke names the participant', () => {
    expect(changeOf(msg({ protocolMessage: { type: REVOKE, key: { id: 'T' } } }, { fromMe: true }), NOW)).toMatchObject({ from_me: true, author: null, change: { kind: 'revoke' } });
    const inGroup = changeOf(msg({ protocolMessage: { type: REVOKE, key: { id: 'T' } } }, { remoteJid: GROUP, participant: '15550002222:2@s.whatsapp.net' }), NOW);
    expect(inGroup).toMatchObject({ chat_id: GROUP, author: '15550002222@s.whatsapp.net' });
  });

  it('a reaction (an empty one removes) keeps its sender time; other protocol messages are no change', () => {
    const r = changeOf(msg({ reactionMessage: { key: { id: 'T' }, text: '👍', senderTimestampMs: NOW - 1000 } }), NOW);
    expect(r).toMatchObject({ target_id: 'T', change: { kind: 'reaction', emoji: '👍' }, timestamp: new Date(NOW - 1000).toISOString() });
    expect(changeOf(msg({ reactionMessage: { key: { id: 'T' }, text: '' } }), NOW)).toMatchObject({ change: { kind: 'reaction', emoji: '' } });
    const history = msg({ protocolMessage: { type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION } });
    expect(isChangeMessage(history)).toBe(false);
    expect(changeOf(history, NOW)).toBeNull();
    expect(isChangeMessage(msg({ conversation: 'hi' }))).toBe(false);
  });
});

describe('poll votes', () => {
  const secret = randomBytes(32);
  const poll = msg({ pollCreationMessageV3: { name: 'Lunch?', options: [{ optionName: 'Pizza' }, { optionName: 'Sushi' }] }, messageContextInfo: { messageSecret: secret } }, { id: 'POLL1' });

  it('a poll is remembered with its secret, options and creator; a stored one is read back from its JSON', () => {
    expect(pollSourceOf(poll, ME)).toEqual({ id: 'POLL1', source: { secret, options: ['Pizza', 'Sushi'], creator: ALICE } });
    const json = JSON.parse(JSON.stringify(proto.Message.toObject(proto.Message.fromObject(poll.message!), { bytes: String })));
    expect(pollSourceFromStored(json, ALICE)).toEqual({ secret: Buffer.from(secret), options: ['Pizza', 'Sushi'], creator: ALICE });
    expect(bytesFromJson(JSON.parse(JSON.stringify(Buffer.from([1, 2]))))).toEqual(Buffer.from([1, 2]));
    expect(bytesFromJson(JSON.parse(JSON.stringify(new Uint8Array([3, 4]))))).toEqual(Buffer.from([3, 4]));
  });

  it('a vote decrypts to the options chosen; with another secret it does not', () => {
    const vote = encryptPollVote(['Sushi'], { pollId: 'POLL1', creatorJid: ALICE, voterJid: '15550002222@s.whatsapp.net', secret });
    const source = { secret, options: ['Pizza', 'Sushi'], creator: ALICE };
    expect(decryptVote(vote, 'POLL1', source, ['15550002222@lid', '15550002222@s.whatsapp.net'])).toEqual(['Sushi']);
    expect(decryptVote(vote, 'POLL1', { ...source, secret: randomBytes(32) }, ['15550002222@s.whatsapp.net'])).toBeNull();
  });

  it('a session counts a vote on a poll it saw, and asks the control plane for one it did not', async () => {
    const asked: string[] = [];
    const changes = new MessageChanges({
      ownJids: () => ({ pn: ME, lid: null }),
      storedPoll: async (chat, id) => (asked.push(`${chat} ${id}`), id === 'STORED' ? { secret, options: ['Yes', 'No'], creator: ALICE } : null),
    });
    changes.remember([poll]);
    const voter = '15550002222@s.whatsapp.net';
    const voteOn = (pollId: string, options: string[], id: string) =>
      msg(
        { pollUpdateMessage: { pollCreationMessageKey: { id: pollId, remoteJid: ALICE, fromMe: false }, vote: encryptPollVote(options, { pollId, creatorJid: ALICE, voterJid: voter, secret }), senderTimestampMs: NOW } },
        { id, remoteJid: voter },
      );
    const events = await changes.eventsOf([voteOn('POLL1', ['Pizza'], 'V1'), voteOn('STORED', ['No'], 'V2'), voteOn('UNKNOWN', ['x'], 'V3')], NOW);
    expect(events).toMatchObject([
      { id: 'chg:V1', target_id: 'POLL1', author: voter, change: { kind: 'poll_vote', options: ['Pizza'] } },
      { id: 'chg:V2', target_id: 'STORED', change: { kind: 'poll_vote', options: ['No'] } },
    ]);
    expect(asked).toEqual([`${voter} STORED`, `${voter} UNKNOWN`]);
  });

  it("a revoke of another member's group message is marked with whether its author is an admin", async () => {
    const changes = new MessageChanges({ ownJids: () => ({ pn: ME, lid: null }), isGroupAdmin: async (_g, jid) => jid === '15550002222@s.whatsapp.net' });
    const revoke = (participant: string, targetAuthor: string, id: string) =>
      msg({ protocolMessage: { type: REVOKE, key: { id: 'T', remoteJid: GROUP, participant: targetAuthor } } }, { id, remoteJid: GROUP, participant });
    const [admin, member, own] = await changes.eventsOf(
      [revoke('15550002222@s.whatsapp.net', ALICE, 'R1'), revoke(ALICE, '15550002222@s.whatsapp.net', 'R2'), revoke(ALICE, ALICE, 'R3')],
      NOW,
    );
    expect(admin).toMatchObject({ by_admin: true });
    expect(member).toMatchObject({ by_admin: false });
    expect(own).not.toHaveProperty('by_admin');
  });
});
