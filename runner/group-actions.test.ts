// The runner's side of group management without a socket: Baileys' metadata as our Group, WhatsApp's
// refusals as command errors, and the session's group memory kept right after each change.
import type { GroupMetadata } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { groupError, groupOf, runGroupAction, type GroupContext } from './group-actions.js';
import { CommandError } from './whatsapp.js';

const G = '120363041234567890@g.us';
const meta: GroupMetadata = {
  id: G,
  subject: 'Team',
  subjectTime: 1_700_000_100,
  creation: 1_700_000_000,
  owner: '111111111111111@lid',
  ownerPn: '15550001111@s.whatsapp.net',
  desc: 'About us',
  announce: true,
  restrict: false,
  size: 2,
  participants: [
    { id: '111111111111111@lid', phoneNumber: '15550001111@s.whatsapp.net', admin: 'superadmin' },
    { id: '15550002222@s.whatsapp.net', lid: '222222222222222@lid', admin: null },
  ],
};

const boom = (code: number, text: string) => Object.assign(new Error(text), { data: code });

function context(sock: Partial<GroupContext['sock']>) {
  const forgotten: string[] = [];
  const subjects = new Map<string, string>();
  const ctx: GroupContext = { sock: sock as GroupContext['sock'], forget: (j) => void forgotten.push(j), rememberSubject: (j, s) => void subjects.set(j, s) };
  return { ctx, forgotten, subjects };
}

describe('groupOf', () => {
  it('maps LID and phone-number participants, roles, settings and times', () => {
    expect(groupOf(meta)).toEqual({
      id: G,
      subject: 'Team',
      description: 'About us',
      owner: '111111111111111@lid',
      owner_phone_number: '+15550001111',
      created_at: '2023-11-14T22:13:20.000Z',
      subject_changed_at: '2023-11-14T22:15:00.000Z',
      announce: true,
      locked: false,
      size: 2,
      participants: [
        { jid: '111111111111111@lid', phone_number: '+15550001111', lid: '111111111111111@lid', role: 'superadmin' },
        { jid: '15550002222@s.whatsapp.net', phone_number: '+15550002222', lid: '222222222222222@lid', role: 'member' },
      ],
    });
  });
});

describe('groupError', () => {
  it('names 404 and 403 group_not_found, 401 group_not_admin, any other code group_refused, and leaves the rest alone', () => {
    expect(groupError(boom(404, 'item-not-found'), G)).toMatchObject({ code: 'group_not_found' });
    expect(groupError(boom(403, 'forbidden'), G)).toMatchObject({ code: 'group_not_found', message: expect.stringMatching(/not a participant/) });
    expect(groupError(boom(401, 'not-authorized'), G)).toMatchObject({ code: 'group_not_admin' });
    expect(groupError(boom(406, 'not-acceptable'), G)).toMatchObject({ code: 'group_refused', message: expect.stringMatching(/406 not-acceptable/) });
    const timeout = new Error('Timed Out');
    expect(groupError(timeout)).toBe(timeout);
  });
});

describe('runGroupAction', () => {
  it('answers a new group as its metadata has it, naming who WhatsApp did not add', async () => {
    // As WhatsApp's, the create answer lists a refused participant among the participants.
    const refused = { id: '15550003333@s.whatsapp.net', admin: null };
    const { ctx, subjects } = context({
      groupCreate: async () => ({ ...meta, participants: [...meta.participants, refused] }),
      groupMetadata: async () => meta,
    });
    const answer = await runGroupAction(ctx, { op: 'create', subject: 'Team', participants: ['15550002222@s.whatsapp.net', '111111111111111@lid', '15550003333@s.whatsapp.net'] });
    expect(answer.group?.participants.map(p => p.jid)).toEqual(['111111111111111@lid', '15550002222@s.whatsapp.net']);
    expect(answer.not_added).toEqual(['15550003333@s.whatsapp.net']);
    expect(subjects.get(G)).toBe('Team');
  });

  it('forgets the group after a participant change and keeps the new subject after an update', async () => {
    const calls: string[] = [];
    const { ctx, forgotten, subjects } = context({
      groupParticipantsUpdate: async (_jid, jids, action) => (calls.push(action), jids.map((jid, i) => ({ jid, status: i ? '409' : '200', content: { tag: 'participant', attrs: { jid } } }))),
      groupUpdateSubject: async (_jid, subject) => void calls.push(`subject:${subject}`),
      groupSettingUpdate: async (_jid, setting) => void calls.push(setting),
      groupMetadata: async () => ({ ...meta, subject: 'New name' }),
    });
    const added = await runGroupAction(ctx, { op: 'participants', group: G, action: 'add', participants: ['1@s.whatsapp.net', '2@s.whatsapp.net'] });
    expect(added.results).toEqual([
      { participant: '1@s.whatsapp.net', ok: true, code: 'ok', status: 200 },
      { participant: '2@s.whatsapp.net', ok: false, code: 'already_participant', status: 409 },
    ]);
    expect(forgotten).toEqual([G]);
    const updated = await runGroupAction(ctx, { op: 'update', group: G, subject: 'New name', locked: true });
    expect(calls).toEqual(['add', 'subject:New name', 'locked']);
    expect(updated.group?.subject).toBe('New name');
    expect(subjects.get(G)).toBe('New name');
  });

  it('says what an update had already changed when WhatsApp refuses a later step', async () => {
    const { ctx } = context({
      groupUpdateSubject: async () => undefined,
      groupSettingUpdate: async () => {
        throw boom(401, 'not-authorized');
      },
    });
    const refused = runGroupAction(ctx, { op: 'update', group: G, subject: 'Renamed', announce: true });
    await expect(refused).rejects.toBeInstanceOf(CommandError);
    await expect(refused).rejects.toMatchObject({ code: 'group_not_admin', message: expect.stringMatching(/already changed: subject/) });
  });
});
