// Group management end to end: /api/groups/… through a real runner with real Baileys to the WhatsApp Web
// emulator, each route checked against what the emulator's group holds afterwards (its control API), with
// WhatsApp's refusals (not an admin, not a member, no such group), per-participant results, another tenant,
// and first a runner too old for groups, which is never asked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, expectError, newTenant } from '../harness/api';
import { olderRunnerConnection } from '../harness/protocol-runner';
import { eventually, launchRunner, linkedConnection, phone, phoneNumber, stopRunners } from '../harness/whatsapp';

afterAll(async () => {
  await stopRunners();
  await closeDatabase();
});

type Tenant = Awaited<ReturnType<typeof newTenant>>;
type EmulatedGroup = { jid: string; subject: string; creator: string; participants: string[]; admins: string[]; description: string | null; announce: boolean; locked: boolean; inviteCode: string };

const emulated = (jid: string): Promise<EmulatedGroup> => phone('GET', `/groups/${encodeURIComponent(jid)}`);
const inbox = (contact: string): Promise<{ id: string; text?: string; group?: string }[]> => phone('GET', `/contacts/${contact}/inbox`);

describe('a runner that predates group management', () => {
  let t: Tenant;
  let older: Awaited<ReturnType<typeof olderRunnerConnection>>;

  beforeAll(async () => {
    t = await newTenant('groups-old');
    older = await olderRunnerConnection(t, { features: ['send-content'], result: {} });
  });
  afterAll(async () => older?.close());

  it('is never asked: 503 runner_outdated', async () => {
    expectError(await t.api.get(`/api/groups/${older.id}`), 503, 'runner_outdated');
    expectError(await t.api.post(`/api/groups/${older.id}`, { subject: 'Nope', participants: ['15550002222'] }), 503, 'runner_outdated');
    expect(older.commands).toEqual([]);
  });
});

describe('group management', () => {
  let t: Tenant;
  let stranger: Tenant;
  let link: { id: string; number: string };
  const alice = phoneNumber();
  const bob = phoneNumber();
  const carol = phoneNumber();
  /** Her privacy settings let only invites add her. */
  const shy = phoneNumber();
  let created: any;

  beforeAll(async () => {
    await launchRunner();
    [t, stranger] = await Promise.all([newTenant('groups'), newTenant('groups-stranger')]);
    for (const [number, name] of [[alice, 'Alice'], [bob, 'Bob'], [carol, 'Carol'], [shy, 'Shy']]) await phone('POST', '/contacts', { phone: number, name });
    await phone('POST', `/contacts/${shy}/privacy`, { groupAdds: 'nobody' });
    link = await linkedConnection(t);
  });

  const groups = (path = '') => `/api/groups/${link.id}${path}`;

  it('creates a group with this account as its superadmin; who cannot be added is left out and named', async () => {
    const res = await t.api.post(groups(), { subject: 'Order 1234', participants: [alice, `+${bob.slice(0, 4)} ${bob.slice(4)}`, `${shy}@s.whatsapp.net`, '19990000001'] });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const { not_added, ...group } = res.body;
    expect(not_added).toEqual([`${shy}@s.whatsapp.net`, '19990000001@s.whatsapp.net']);
    created = group;
    expect(created.id).toMatch(/^120363\d{12}@g\.us$/);
    expect(created).toMatchObject({ subject: 'Order 1234', description: null, announce: false, locked: false, size: 3, owner_phone_number: `+${link.number}` });
    expect(created.created_at).toEqual(expect.any(String));
    expect(created.participants.map((p: any) => [p.phone_number, p.role])).toEqual([
      [`+${link.number}`, 'superadmin'],
      [`+${alice}`, 'member'],
      [`+${bob}`, 'member'],
    ]);
    expect(created.participants[0].jid).toMatch(/@lid$/);
    expect(await emulated(created.id)).toMatchObject({ subject: 'Order 1234', creator: link.number, participants: [link.number, alice, bob], admins: [link.number] });
  });

  it('reads a group by its JID or by its user part, and lists the groups the account is in', async () => {
    const byJid = await t.api.get(groups(`/${encodeURIComponent(created.id)}`));
    expect(byJid.status, JSON.stringify(byJid.body)).toBe(200);
    expect(byJid.body).toEqual(created);
    const byUser = await t.api.get(groups(`/${created.id.split('@')[0]}`));
    expect(byUser.body).toEqual(created);

    const theirs = await phone('POST', '/groups', { subject: 'Made by Alice', participants: [alice, link.number] });
    const elsewhere = await phone('POST', '/groups', { subject: 'Without us', participants: [alice, bob] });
    const list = await t.api.get(groups());
    expect(list.status, JSON.stringify(list.body)).toBe(200);
    const ids = (list.body as any[]).map((g) => g.id);
    expect(ids).toEqual(expect.arrayContaining([created.id, theirs.jid]));
    expect(ids).not.toContain(elsewhere.jid);
    const summary = (list.body as any[]).find((g) => g.id === theirs.jid);
    expect(summary).toMatchObject({ subject: 'Made by Alice', size: 2, owner_phone_number: `+${alice}` });
    expect(summary.participants).toBeUndefined();
  });

  it('adds, promotes, demotes and removes participants, answering for each; a new member reads the next group message', async () => {
    const update = (body: unknown) => t.api.post(groups(`/${created.id}/participants`), body);
    const added = await update({ action: 'add', participants: [carol, alice, shy] });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(added.body).toEqual({
      group_id: created.id,
      action: 'add',
      results: [
        { participant: `${carol}@s.whatsapp.net`, ok: true, code: 'ok', status: 200 },
        { participant: `${alice}@s.whatsapp.net`, ok: false, code: 'already_participant', status: 409 },
        { participant: `${shy}@s.whatsapp.net`, ok: false, code: 'not_allowed', status: 403 },
      ],
    });
    expect((await emulated(created.id)).participants).toEqual([link.number, alice, bob, carol]);

    // The runner forgot the group's members it knew: Carol gets the sender key with the next message.
    const sent = await t.api.post('/api/send-message', { connection_id: link.id, to: created.id, message: 'welcome Carol' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    await eventually(async () => (await inbox(carol)).some((m) => m.id === sent.body.provider_message_id && m.group === created.id), 'Carol to decrypt the group message');

    const promoted = await update({ action: 'promote', participants: [carol] });
    expect(promoted.body.results).toEqual([{ participant: `${carol}@s.whatsapp.net`, ok: true, code: 'ok', status: 200 }]);
    expect((await emulated(created.id)).admins).toEqual([link.number, carol]);
    const meta = await t.api.get(groups(`/${created.id}`));
    expect(meta.body.participants.find((p: any) => p.phone_number === `+${carol}`).role).toBe('admin');

    const demoted = await update({ action: 'demote', participants: [carol, link.number] });
    expect(demoted.body.results.map((r: any) => [r.code, r.status])).toEqual([['ok', 200], ['not_acceptable', 406]]);
    expect((await emulated(created.id)).admins).toEqual([link.number]);

    const removed = await update({ action: 'remove', participants: [bob, shy] });
    expect(removed.body.results.map((r: any) => [r.code, r.status])).toEqual([['ok', 200], ['not_found', 404]]);
    expect((await emulated(created.id)).participants).toEqual([link.number, alice, carol]);

    expectError(await update({ action: 'kick', participants: [bob] }), 400, 'validation_failed');
    expectError(await update({ action: 'add', participants: [] }), 400, 'validation_failed');
    expectError(await update({ action: 'add', participants: ['not a number'] }), 400, 'validation_failed');
  });

  it('changes subject, description and settings; the renamed group names its chat', async () => {
    const res = await t.api.patch(groups(`/${created.id}`), { subject: 'Order 1234 (shipped)', description: 'Tracking: ZX123', announce: true, locked: true });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ id: created.id, subject: 'Order 1234 (shipped)', description: 'Tracking: ZX123', announce: true, locked: true });
    expect(await emulated(created.id)).toMatchObject({ subject: 'Order 1234 (shipped)', description: 'Tracking: ZX123', announce: true, locked: true });

    const cleared = await t.api.patch(groups(`/${created.id}`), { description: null, announce: false });
    expect(cleared.body).toMatchObject({ subject: 'Order 1234 (shipped)', description: null, announce: false, locked: true });
    expect(await emulated(created.id)).toMatchObject({ description: null, announce: false, locked: true });

    // The runner's subject for the group is the new one: the group's next message names the chat with it.
    await phone('POST', `/contacts/${alice}/messages`, { group: created.id, text: 'when does it arrive?' });
    await eventually(async () => {
      const chat = ((await t.api.get(`/api/chats/${link.id}`)).body as any[]).find((c) => c.chat_id === created.id);
      return chat?.last_message === 'when does it arrive?' && chat.name === 'Order 1234 (shipped)';
    }, 'the chat named by the new subject');

    expectError(await t.api.patch(groups(`/${created.id}`), {}), 400, 'validation_failed');
    expectError(await t.api.patch(groups(`/${created.id}`), { subject: 'x'.repeat(101) }), 400, 'validation_failed');
  });

  it('hands out the invite link, and a revoke replaces it', async () => {
    const first = await t.api.get(groups(`/${created.id}/invite-link`));
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const { inviteCode } = await emulated(created.id);
    expect(first.body).toEqual({ group_id: created.id, code: inviteCode, link: `https://chat.whatsapp.com/${inviteCode}` });

    const revoked = await t.api.post(groups(`/${created.id}/invite-link/revoke`));
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    expect(revoked.body.code).not.toBe(inviteCode);
    expect((await emulated(created.id)).inviteCode).toBe(revoked.body.code);
    expect((await t.api.get(groups(`/${created.id}/invite-link`))).body.code).toBe(revoked.body.code);

    // The old link no longer lets anyone in; the new one does (Bob, removed earlier, comes back through it).
    await expect(phone('POST', `/contacts/${bob}/join`, { code: inviteCode })).rejects.toThrow(/: 410 /);
    expect((await phone('POST', `/contacts/${bob}/join`, { code: revoked.body.code })).participants).toEqual([link.number, alice, carol, bob]);
    await eventually(async () => {
      const meta = await t.api.get(groups(`/${created.id}`));
      return meta.body.participants?.some((p: any) => p.phone_number === `+${bob}`);
    }, 'Bob in the group again');
  });

  it('refuses what only admins may do in a group where this account is a member (403 not_group_admin), changing nothing', async () => {
    const theirs = await phone('POST', '/groups', { subject: 'Alice runs this', participants: [alice, link.number, bob] });
    const before = await emulated(theirs.jid);
    expectError(await t.api.post(groups(`/${theirs.jid}/participants`), { action: 'add', participants: [carol] }), 403, 'not_group_admin');
    expectError(await t.api.post(groups(`/${theirs.jid}/participants`), { action: 'remove', participants: [bob] }), 403, 'not_group_admin');
    expectError(await t.api.patch(groups(`/${theirs.jid}`), { announce: true }), 403, 'not_group_admin');
    expectError(await t.api.get(groups(`/${theirs.jid}/invite-link`)), 403, 'not_group_admin');
    expectError(await t.api.post(groups(`/${theirs.jid}/invite-link/revoke`)), 403, 'not_group_admin');
    expect(await emulated(theirs.jid)).toEqual(before);
    // Any member may rename a group that is not locked.
    expect((await t.api.patch(groups(`/${theirs.jid}`), { subject: 'Renamed by us' })).status).toBe(200);
    expect((await emulated(theirs.jid)).subject).toBe('Renamed by us');
  });

  it('answers 404 group_not_found for a group this account is not in, or that does not exist', async () => {
    const elsewhere = await phone('POST', '/groups', { subject: 'Private', participants: [alice, bob] });
    for (const jid of [elsewhere.jid, '120363999999999999@g.us']) {
      expectError(await t.api.get(groups(`/${jid}`)), 404, 'group_not_found');
      expectError(await t.api.patch(groups(`/${jid}`), { subject: 'Ours now' }), 404, 'group_not_found');
      expectError(await t.api.post(groups(`/${jid}/participants`), { action: 'add', participants: [carol] }), 404, 'group_not_found');
      expectError(await t.api.post(groups(`/${jid}/leave`)), 404, 'group_not_found');
    }
    expect(await emulated(elsewhere.jid)).toMatchObject({ subject: 'Private', participants: [alice, bob] });
    expectError(await t.api.get(groups('/not-a-group')), 400, 'validation_failed');
  });

  it("is another tenant's 404, and nothing happens", async () => {
    const before = (await phone('GET', '/groups')).length;
    expectError(await stranger.api.get(`/api/groups/${link.id}`), 404, 'connection_not_found');
    expectError(await stranger.api.get(`/api/groups/${link.id}/${created.id}`), 404, 'connection_not_found');
    expectError(await stranger.api.post(`/api/groups/${link.id}`, { subject: 'Hijack', participants: [alice] }), 404, 'connection_not_found');
    expectError(await stranger.api.post(`/api/groups/${link.id}/${created.id}/participants`, { action: 'remove', participants: [alice] }), 404, 'connection_not_found');
    expectError(await stranger.api.patch(`/api/groups/${link.id}/${created.id}`, { subject: 'Hijacked' }), 404, 'connection_not_found');
    expectError(await stranger.api.get(`/api/groups/${link.id}/${created.id}/invite-link`), 404, 'connection_not_found');
    expectError(await stranger.api.post(`/api/groups/${link.id}/${created.id}/leave`), 404, 'connection_not_found');
    expect((await phone('GET', '/groups')).length).toBe(before);
    expect(await emulated(created.id)).toMatchObject({ subject: 'Order 1234 (shipped)', participants: [link.number, alice, carol, bob] });
  });

  it('leaves a group: the account is out, and the group is then not found', async () => {
    const left = await t.api.post(groups(`/${created.id.split('@')[0]}/leave`));
    expect(left.status, JSON.stringify(left.body)).toBe(200);
    expect(left.body).toEqual({ group_id: created.id, left: true });
    expect((await emulated(created.id)).participants).toEqual([alice, carol, bob]);
    expectError(await t.api.get(groups(`/${created.id}`)), 404, 'group_not_found');
    expect(((await t.api.get(groups())).body as any[]).map((g) => g.id)).not.toContain(created.id);
  });
});
