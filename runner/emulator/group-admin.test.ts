// Group management between real Baileys and the emulator: every w:g2 change Baileys' Socket/groups.js
// sends, what the emulator's group holds after it, WhatsApp's refusals (401 not an admin, 403 not a
// member, 404 no such group, statuses per participant), and the w:gp2 notifications other members' devices get.
import type { BaileysEventMap, WASocket } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from './emulator.js';
import { control, linkByQr, waitForEvent } from './testing.js';
import { trustEmulatorRoot } from './trust.js';

type Contact = { phone: string; jid: string; lid: string; name: string };
type GroupView = {
  jid: string;
  subject: string;
  creator: string;
  participants: string[];
  admins: string[];
  description: string | null;
  announce: boolean;
  locked: boolean;
  inviteCode: string;
};

let emu: RunningEmulator;
let sock: WASocket;
let otherSock: WASocket;
let account: { phone: string; lid: string };
let other: { phone: string; lid: string };
let alice: Contact;
let bob: Contact;
let shy: Contact;
const api = <T>(method: string, path: string, body?: unknown) => control<T>(emu.controlUrl, method, path, body);
const view = (jid: string) => api<GroupView>('GET', `/groups/${encodeURIComponent(jid)}`);
const pn = (phone: string) => `${phone}@s.whatsapp.net`;

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
  trustEmulatorRoot(emu.rootPublicKey);
  account = await api('POST', '/accounts', { name: 'Acme Support' });
  other = await api('POST', '/accounts', { name: 'Other Co' });
  ({ sock } = await linkByQr(emu, account.phone));
  ({ sock: otherSock } = await linkByQr(emu, other.phone));
  alice = await api<Contact>('POST', '/contacts', { name: 'Alice' });
  bob = await api<Contact>('POST', '/contacts', { name: 'Bob' });
  shy = await api<Contact>('POST', '/contacts', { name: 'Shy' });
  await api('POST', `/contacts/${shy.phone}/privacy`, { groupAdds: 'nobody' });
});

afterAll(async () => {
  sock?.end(undefined);
  otherSock?.end(undefined);
  await emu?.close();
});

describe('groupCreate', () => {
  it('makes the account the superadmin, adds who can be added, and the other member account is told', async () => {
    const told = waitForEvent(otherSock, 'groups.upsert', groups => groups.some(g => g.subject === 'Launch'));
    const created = await sock.groupCreate('Launch', [alice.jid, `${bob.lid}@lid`, pn(other.phone), shy.jid, pn('19990000001')]);
    expect(created.id).toMatch(/^120363\d{12}@g\.us$/);
    expect(created).toMatchObject({ subject: 'Launch', owner: `${account.lid}@lid`, ownerPn: pn(account.phone), size: 4, announce: false, restrict: false });
    // As WhatsApp's, the answer lists who could not be added too (Baileys keeps them among the participants)…
    expect(created.participants.slice(4).map(p => p.id)).toEqual([shy.jid, pn('19990000001')]);
    // … and the group's metadata has only its members: the shy contact (privacy: nobody) and the number without WhatsApp are out.
    const meta = await sock.groupMetadata(created.id);
    expect(meta.participants.map(p => [p.phoneNumber, p.admin])).toEqual([
      [pn(account.phone), 'superadmin'],
      [alice.jid, null],
      [bob.jid, null],
      [pn(other.phone), null],
    ]);
    expect(await view(meta.id)).toMatchObject({ creator: account.phone, participants: [account.phone, alice.phone, bob.phone, other.phone], admins: [account.phone] });
    const [upserted] = (await told).filter(g => g.id === meta.id);
    expect(upserted).toMatchObject({ subject: 'Launch', author: `${account.lid}@lid` });
  });

  it('refuses an empty subject (400)', async () => {
    await expect(sock.groupCreate(' ', [alice.jid])).rejects.toMatchObject({ data: 400 });
  });
});

describe('participants', () => {
  it('answers a status per participant and changes only what it allowed; the other account sees each change', async () => {
    const meta = await sock.groupCreate('Members', [alice.jid, pn(other.phone)]);
    const participantsUpdate = (action: string) =>
      waitForEvent(otherSock, 'group-participants.update', u => u.id === meta.id && u.action === action);

    const added = participantsUpdate('add');
    const add = await sock.groupParticipantsUpdate(meta.id, [bob.jid, alice.jid, shy.jid, pn('19990000002')], 'add');
    expect(add.map(r => [r.jid, r.status])).toEqual([
      [bob.jid, '200'],
      [alice.jid, '409'],
      [shy.jid, '403'],
      [pn('19990000002'), '404'],
    ]);
    // A privacy refusal carries what an invite needs.
    expect(add[2]!.content).toMatchObject({ content: [{ tag: 'add_request', attrs: { code: expect.any(String) } }] });
    expect((await added).participants.map(p => (typeof p === 'string' ? p : p.phoneNumber))).toEqual([bob.jid]);
    expect((await view(meta.id)).participants).toEqual([account.phone, alice.phone, other.phone, bob.phone]);

    const promoted = participantsUpdate('promote');
    expect((await sock.groupParticipantsUpdate(meta.id, [`${alice.lid}@lid`], 'promote')).map(r => r.status)).toEqual(['200']);
    await promoted;
    expect((await view(meta.id)).admins).toEqual([account.phone, alice.phone]);
    expect((await sock.groupMetadata(meta.id)).participants.find(p => p.phoneNumber === alice.jid)?.admin).toBe('admin');

    expect((await sock.groupParticipantsUpdate(meta.id, [alice.jid], 'demote')).map(r => r.status)).toEqual(['200']);
    // The creator cannot be demoted; someone outside the group cannot be removed.
    expect((await sock.groupParticipantsUpdate(meta.id, [pn(account.phone)], 'demote')).map(r => r.status)).toEqual(['406']);
    expect((await sock.groupParticipantsUpdate(meta.id, [shy.jid], 'remove')).map(r => r.status)).toEqual(['404']);
    expect((await view(meta.id)).admins).toEqual([account.phone]);

    const removed = participantsUpdate('remove');
    expect((await sock.groupParticipantsUpdate(meta.id, [bob.jid], 'remove')).map(r => r.status)).toEqual(['200']);
    await removed;
    expect((await view(meta.id)).participants).toEqual([account.phone, alice.phone, other.phone]);
  });

  it('is refused with 401 for a member who is not an admin, 403 outside the group, 404 for an unknown group', async () => {
    const theirs = await otherSock.groupCreate('Theirs', [pn(account.phone), alice.jid]);
    await expect(sock.groupParticipantsUpdate(theirs.id, [bob.jid], 'add')).rejects.toMatchObject({ message: 'not-authorized', data: 401 });
    await expect(sock.groupSettingUpdate(theirs.id, 'announcement')).rejects.toMatchObject({ data: 401 });
    await expect(sock.groupInviteCode(theirs.id)).rejects.toMatchObject({ data: 401 });
    await expect(sock.groupRevokeInvite(theirs.id)).rejects.toMatchObject({ data: 401 });
    expect((await view(theirs.id)).participants).toEqual([other.phone, account.phone, alice.phone]);

    const outside = await api<GroupView>('POST', '/groups', { subject: 'Outside', participants: [alice.phone, bob.phone] });
    await expect(sock.groupParticipantsUpdate(outside.jid, [shy.jid], 'add')).rejects.toMatchObject({ message: 'forbidden', data: 403 });
    await expect(sock.groupUpdateSubject(outside.jid, 'Mine now')).rejects.toMatchObject({ data: 403 });
    await expect(sock.groupLeave(outside.jid)).rejects.toMatchObject({ data: 403 });
    await expect(sock.groupParticipantsUpdate('120363999999999998@g.us', [bob.jid], 'add')).rejects.toMatchObject({ message: 'item-not-found', data: 404 });
    expect((await view(outside.jid)).subject).toBe('Outside');
  });
});

describe('subject, description and settings', () => {
  it('change what the group holds, show in its metadata, and reach the other member account as groups.update', async () => {
    const meta = await sock.groupCreate('Before', [pn(other.phone), alice.jid]);
    const updated = (test: (u: BaileysEventMap['groups.update'][number]) => boolean) =>
      waitForEvent(otherSock, 'groups.update', us => us.some(u => u.id === meta.id && test(u)));

    const renamed = updated(u => u.subject === 'After ✓');
    await sock.groupUpdateSubject(meta.id, 'After ✓');
    await renamed;
    expect((await view(meta.id)).subject).toBe('After ✓');

    const described = updated(u => u.desc === 'Opening hours: 9 to 5');
    await sock.groupUpdateDescription(meta.id, 'Opening hours: 9 to 5');
    await described;
    // A second change names the first as `prev` (Baileys reads it from the metadata first).
    await sock.groupUpdateDescription(meta.id, 'Opening hours: 9 to 6');
    expect((await sock.groupMetadata(meta.id)).desc).toBe('Opening hours: 9 to 6');
    expect((await view(meta.id)).description).toBe('Opening hours: 9 to 6');
    await sock.groupUpdateDescription(meta.id, undefined);
    expect((await view(meta.id)).description).toBeNull();
    expect((await sock.groupMetadata(meta.id)).desc).toBeUndefined();

    const announced = updated(u => u.announce === true);
    await sock.groupSettingUpdate(meta.id, 'announcement');
    await announced;
    const locked = updated(u => u.restrict === true);
    await sock.groupSettingUpdate(meta.id, 'locked');
    await locked;
    expect(await view(meta.id)).toMatchObject({ announce: true, locked: true });
    expect(await sock.groupMetadata(meta.id)).toMatchObject({ announce: true, restrict: true });

    // In a locked group only admins change the subject; in an unlocked one every member may.
    await expect(otherSock.groupUpdateSubject(meta.id, 'Hijacked')).rejects.toMatchObject({ data: 401 });
    await sock.groupSettingUpdate(meta.id, 'unlocked');
    await sock.groupSettingUpdate(meta.id, 'not_announcement');
    await otherSock.groupUpdateSubject(meta.id, 'Renamed by a member');
    expect(await view(meta.id)).toMatchObject({ subject: 'Renamed by a member', announce: false, locked: false });
    expect((await sock.groupMetadata(meta.id)).subjectOwnerPn).toBe(pn(other.phone));
  });
});

describe('invite codes', () => {
  it('are the group’s, and a revoke makes a new one', async () => {
    const meta = await sock.groupCreate('Invites', [alice.jid]);
    const code = await sock.groupInviteCode(meta.id);
    expect(code).toMatch(/^[A-Za-z0-9]{22}$/);
    expect((await view(meta.id)).inviteCode).toBe(code);
    const fresh = await sock.groupRevokeInvite(meta.id);
    expect(fresh).not.toBe(code);
    expect(await sock.groupInviteCode(meta.id)).toBe(fresh);
    expect((await view(meta.id)).inviteCode).toBe(fresh);

    // The old link no longer opens the group (410 gone), a made-up one never did (406); the new one does.
    await expect(otherSock.groupAcceptInvite(code!)).rejects.toMatchObject({ data: 410 });
    await expect(otherSock.groupGetInviteInfo('AAAAAAAAAAAAAAAAAAAAAA')).rejects.toMatchObject({ data: 406 });
    expect(await otherSock.groupGetInviteInfo(fresh!)).toMatchObject({ id: meta.id, subject: 'Invites' });
    const told = waitForEvent(sock, 'group-participants.update', u => u.id === meta.id && u.action === 'add');
    expect(await otherSock.groupAcceptInvite(fresh!)).toBe(meta.id);
    expect((await told).participants.map(p => (typeof p === 'string' ? p : p.phoneNumber))).toEqual([pn(other.phone)]);
    expect((await view(meta.id)).participants).toEqual([account.phone, alice.phone, other.phone]);

    // A contact opens the link through the control API too.
    await expect(api('POST', `/contacts/${bob.phone}/join`, { code })).rejects.toThrow(/→ 410/);
    expect((await api<GroupView>('POST', `/contacts/${bob.phone}/join`, { code: fresh })).participants).toContain(bob.phone);
  });
});

describe('groupLeave', () => {
  it('takes the account out, tells the others, and an admin cannot add it straight back (408)', async () => {
    const theirs = await otherSock.groupCreate('Leaving', [pn(account.phone), alice.jid]);
    const told = waitForEvent(otherSock, 'group-participants.update', u => u.id === theirs.id && u.action === 'remove');
    await sock.groupLeave(theirs.id);
    expect((await told).participants.map(p => (typeof p === 'string' ? p : p.phoneNumber))).toEqual([pn(account.phone)]);
    expect((await view(theirs.id)).participants).toEqual([other.phone, alice.phone]);
    await expect(sock.groupMetadata(theirs.id)).rejects.toMatchObject({ data: 403 });
    expect((await otherSock.groupParticipantsUpdate(theirs.id, [pn(account.phone)], 'add')).map(r => r.status)).toEqual(['408']);
  });
});

describe('afterwards', () => {
  it('every group query was understood', async () => {
    expect((await api<{ xmlns: string }[]>('GET', '/unknown-queries')).filter(q => q.xmlns === 'w:g2')).toEqual([]);
  });
});
