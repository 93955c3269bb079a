// The group wire: which ids and participants the API takes, WhatsApp's per-participant statuses as codes,
// and that a `group` command is only ever given to a runner that says it understands groups.
import { describe, expect, it } from 'vitest';
import { Command, featureNeededBy } from './runner';
import { CreateGroupBody, UpdateGroupBody, groupJidOf, participantJidOf, participantResultCode } from './groups';

describe('group ids', () => {
  it('take a group JID or its user part, and nothing else', () => {
    expect(groupJidOf('120363041234567890@g.us')).toBe('120363041234567890@g.us');
    expect(groupJidOf('120363041234567890')).toBe('120363041234567890@g.us');
    expect(groupJidOf('15550001111-1600000000')).toBe('15550001111-1600000000@g.us');
    for (const bad of ['', 'abc', '15550001111@s.whatsapp.net', '1@lid', '@g.us', '120363041234567890@g.us.evil']) expect(groupJidOf(bad), bad).toBeNull();
  });

  it('participants are phone numbers or user JIDs, never groups', () => {
    expect(participantJidOf('+92 300 123-4567')).toBe('923001234567@s.whatsapp.net');
    expect(participantJidOf('123456789012345@lid')).toBe('123456789012345@lid');
    expect(participantJidOf('120363041234567890@g.us')).toBeNull();
    expect(CreateGroupBody.safeParse({ subject: 'x', participants: ['nope'] }).success).toBe(false);
  });
});

describe('group bodies', () => {
  it('a change names at least one thing, and subjects are 1 to 100 characters', () => {
    expect(UpdateGroupBody.safeParse({}).success).toBe(false);
    expect(UpdateGroupBody.safeParse({ description: null }).success).toBe(true);
    expect(UpdateGroupBody.safeParse({ subject: '   ' }).success).toBe(false);
    expect(UpdateGroupBody.safeParse({ subject: 'é'.repeat(100) }).success).toBe(true);
    expect(UpdateGroupBody.safeParse({ subject: 'é'.repeat(101) }).success).toBe(false);
    expect(UpdateGroupBody.safeParse({ locked: true, extra: 1 }).success).toBe(false);
  });
});

describe('participant results', () => {
  it("map WhatsApp's statuses to codes", () => {
    expect([200, 401, 403, 404, 406, 408, 409, 500].map(participantResultCode)).toEqual([
      'ok',
      'blocked',
      'not_allowed',
      'not_found',
      'not_acceptable',
      'recently_left',
      'already_participant',
      'failed',
    ]);
  });
});

describe('the group command', () => {
  it("needs the 'groups' feature, whatever it does", () => {
    const actions = [
      { op: 'list' },
      { op: 'create', subject: 'x', participants: [] },
      { op: 'leave', group: '120363041234567890@g.us' },
      { op: 'update', group: '120363041234567890@g.us', locked: true },
    ];
    for (const action of actions) expect(featureNeededBy(Command.parse({ name: 'group', action }))).toBe('groups');
    expect(featureNeededBy({ name: 'send', to: '1@s.whatsapp.net', text: 'hi', message_id: 'A' })).toBeUndefined();
    expect(Command.safeParse({ name: 'group', action: { op: 'metadata', group: 'not-a-group' } }).success).toBe(false);
  });
});
