// Message actions as the runner protocol sees them, with a runner reduced to its protocol (no Baileys): a
// runner without the 'message-actions' feature is never asked to edit or revoke (503 runner_outdated); one
// with it gets commands naming the message's key; a poll's own message (its proto, with the secret its
// votes are encrypted with) is stored from the runner's echo, and GET /internal/messages gives it back to
// the lease holder only (so a runner that never saw the poll can still read its votes).
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { baseUrl, closeDatabase, eventually, expectError, newTenant, uniqueId } from '../harness/api';
import { ProtocolRunner, connectedThrough, postEvents, type CommandFrame } from '../harness/protocol-runner';
import { runnerToken } from '../harness/runner-tokens';

const runners: ProtocolRunner[] = [];
afterAll(async () => {
  for (const r of runners) r.close();
  await closeDatabase();
});

const CONTACT = '15550003333';
const CHAT = `${CONTACT}@s.whatsapp.net`;

/** A connected connection leased to a protocol runner that answers every command as sent. */
async function through(features: string[]) {
  const commands: CommandFrame[] = [];
  const runner = await ProtocolRunner.connect(`proto-${randomUUID().slice(0, 6)}`, {
    features,
    onCommand: (frame) => (commands.push(frame), { ok: true, result: { provider_message_id: `3EB0${randomUUID().slice(0, 8).toUpperCase()}`, timestamp: new Date().toISOString() } }),
  });
  runners.push(runner);
  const t = await newTenant('actions-proto');
  const id = uniqueId();
  const lease = await connectedThrough(runner, t, id);
  return { runner, t, id, lease, commands };
}

describe('message actions through the runner protocol', () => {
  it('a runner without message-actions is never asked (503 runner_outdated); one with it gets the key', async () => {
    const old = await through([]);
    const sent = await old.t.api.post('/api/send-message', { connection_id: old.id, to: CONTACT, message: 'hello' });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    const mid = sent.body.provider_message_id;
    await eventually(async () => (await old.t.api.get(`/api/messages/${old.id}/${CONTACT}`)).body.some((m: any) => m.status === 'sent'), 'the send to be sent');
    const before = old.commands.length;
    expectError(await old.t.api.patch(`/api/messages/${old.id}/${CONTACT}/${mid}`, { message: 'edited' }), 503, 'runner_outdated');
    expectError(await old.t.api.delete(`/api/messages/${old.id}/${CONTACT}/${mid}`), 503, 'runner_outdated');
    expect(old.commands.length).toBe(before);
    await old.t.api.delete(`/api/connections/${old.id}`);

    const cur = await through(['send-content', 'message-actions']);
    const ours = (await cur.t.api.post('/api/send-message', { connection_id: cur.id, to: CONTACT, message: 'typo' })).body.provider_message_id;
    await eventually(async () => (await cur.t.api.get(`/api/messages/${cur.id}/${CONTACT}`)).body.some((m: any) => m.status === 'sent'), 'the send to be sent');
    const edited = await cur.t.api.patch(`/api/messages/${cur.id}/${CONTACT}/${ours}`, { message: 'fixed' });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(edited.body).toMatchObject({ message: 'fixed', edits: [{ message: 'typo' }] });
    const deleted = await cur.t.api.delete(`/api/messages/${cur.id}/${CONTACT}/${ours}`);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect(cur.commands.slice(-2).map((f) => f.command)).toEqual([
      { name: 'edit', key: { id: ours, remote_jid: CHAT, from_me: true }, text: 'fixed' },
      { name: 'revoke', key: { id: ours, remote_jid: CHAT, from_me: true } },
    ]);
    await cur.t.api.delete(`/api/connections/${cur.id}`);
  });

  it("a poll's secret is stored with it, and given back only to the connection's lease holder", async () => {
    const cur = await through(['send-content', 'message-actions']);
    const sent = await cur.t.api.post('/api/send-message', { connection_id: cur.id, to: CONTACT, poll: { name: 'Lunch?', options: ['Pizza', 'Sushi'] } });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    const poll = sent.body.provider_message_id as string;
    // The runner's echo of its own send carries the message as WhatsApp has it, secret included.
    const secret = Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64') + Buffer.alloc(16).toString('base64');
    const proto = { messageContextInfo: { messageSecret: secret }, pollCreationMessageV3: { name: 'Lunch?', options: [{ optionName: 'Pizza' }, { optionName: 'Sushi' }], selectableOptionsCount: 0 } };
    const echo = {
      id: `msg:${poll}`,
      at: new Date().toISOString(),
      type: 'message.upsert' as const,
      message: { provider_message_id: poll, chat_id: CHAT, direction: 'outbound' as const, from: null, to: CHAT, push_name: null, type: 'pollCreationV3', text: null, content: proto, proto, timestamp: new Date().toISOString(), source: 'live' as const },
    };
    expect((await postEvents(cur.runner.id, [{ connection_pk: cur.lease.pk, epoch: cur.lease.epoch, events: [echo] }])).status).toBe(200);

    const read = (runnerId: string, epoch: number, token?: string) =>
      runnerToken(runnerId).then((own) =>
        fetch(`${baseUrl()}/internal/messages/${cur.lease.pk}/${poll}?epoch=${epoch}&chat_id=${encodeURIComponent(CHAT)}`, { headers: { authorization: `Bearer ${token ?? own}` } }),
      );
    const stored = await eventually(async () => {
      const res = await read(cur.runner.id, cur.lease.epoch);
      const body = res.status === 200 ? ((await res.json()) as { content?: { messageContextInfo?: unknown } }) : undefined;
      return body?.content?.messageContextInfo ? body : undefined;
    }, 'the poll stored with its proto');
    expect(stored).toMatchObject({ direction: 'outbound', type: 'poll', content: proto });
    // Another runner, or a made-up epoch: refused.
    const other = `other-${randomUUID().slice(0, 6)}`;
    expect((await read(other, cur.lease.epoch)).status).toBe(403);
    expect((await read(cur.runner.id, cur.lease.epoch + 7)).status).toBe(403);
    const unknown = await fetch(`${baseUrl()}/internal/messages/${cur.lease.pk}/NOPE?epoch=${cur.lease.epoch}&chat_id=${encodeURIComponent(CHAT)}`, {
      headers: { authorization: `Bearer ${await runnerToken(cur.runner.id)}` },
    });
    expect(unknown.status).toBe(404);

    // A vote the runner decrypted with it is stored (the runner reports it as a fact of its lease).
    const vote = { id: `chg:${randomUUID()}`, at: new Date().toISOString(), type: 'message.change' as const, chat_id: CHAT, target_id: poll, from_me: false, author: CHAT, timestamp: new Date().toISOString(), change: { kind: 'poll_vote' as const, options: ['Sushi'] } };
    expect((await postEvents(cur.runner.id, [{ connection_pk: cur.lease.pk, epoch: cur.lease.epoch, events: [vote] }])).status).toBe(200);
    const tallied = await eventually(
      async () => (await cur.t.api.get(`/api/messages/${cur.id}/${CONTACT}`)).body.find((m: any) => m.provider_message_id === poll && m.poll_votes?.[1]?.count === 1),
      'the vote to be tallied',
    );
    expect(tallied.poll_votes).toEqual([
      { option: 'Pizza', count: 0, voters: [] },
      { option: 'Sushi', count: 1, voters: [CHAT] },
    ]);
  });
});
