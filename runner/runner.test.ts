// The runner end to end: link + sessions + Baileys + auth state + outbox, against the WhatsApp Web
// emulator (real Baileys, real Signal) and a control-plane stand-in that speaks protocol/runner.ts.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunnerEvent } from '../protocol/runner.js';
import { startEmulator, type RunningEmulator } from './emulator/index.js';
import { control, eventually } from './emulator/testing.js';
import { startFakeControlPlane, type FakeControlPlane } from './fake-control-plane.js';
import type { Runner } from './runner.js';
import { startTestRunner } from './test-runner.js';

type Account = { phone: string };
type Contact = { phone: string; jid: string };
type InboxEntry = { id: string; text: string | null };

let emu: RunningEmulator;
let cp: FakeControlPlane;
const runners: Runner[] = [];
const api = <T>(method: string, path: string, body?: unknown) => control<T>(emu.controlUrl, method, path, body);

const runner = async (id: string, env: Record<string, string> = {}) => {
  const r = await startTestRunner(cp, emu, id, { AUTH_FLUSH_INTERVAL_MS: '200', ...env }, { whatsapp: { reconnectBaseMs: 100 } });
  runners.push(r);
  return r;
};

const ofEpoch = (epoch: number, pred: (e: RunnerEvent) => boolean) => (pk: string) =>
  cp.until(() => cp.events.find(e => e.pk === pk && e.epoch === epoch && pred(e.event))?.event, 20_000, `event at epoch ${epoch}: ${pred}; have ${JSON.stringify(cp.events.map(e => [e.epoch, e.event.type, e.event.type === 'connection.status' ? e.event.status : e.event.id]))}`);

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
  cp = await startFakeControlPlane({ heartbeatMs: 500 });
});
afterAll(async () => {
  for (const r of runners) await r.close();
  await cp?.close();
  await emu?.close();
});

describe('runner against the emulator', () => {
  it('links by QR, sends, receives, hands the session to a second runner that keeps decrypting, and drains', async () => {
    const a = await runner('runner-a');
    const hello = cp.frames.find(f => f.runnerId === 'runner-a' && f.frame.type === 'hello')!.frame;
    expect(hello).toMatchObject({ type: 'hello', protocol: 1, capacity: 200, leases: [] });
    expect((await fetch(`http://127.0.0.1:${a.httpPort}/readyz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${a.httpPort}/healthz`)).status).toBe(200);

    const account = await api<Account>('POST', '/accounts', { name: 'Runner Test' });
    const contact = await api<Contact>('POST', '/contacts', { name: 'Ivan' });
    const pk = randomUUID();
    cp.grant('runner-a', pk);

    // QR → the phone scans it → 515 restart → connected, with the phone number.
    const qr = await cp.waitForEvent(pk, e => e.type === 'qr', 20_000, 'qr');
    expect(qr.type === 'qr' && Date.parse(qr.expires_at) - Date.now()).toBeGreaterThan(30_000);
    await api('POST', `/accounts/${account.phone}/scan`, { qr: qr.type === 'qr' ? qr.qr : '' });
    const connected = await ofEpoch(1, e => e.type === 'connection.status' && e.status === 'connected')(pk);
    expect(connected).toMatchObject({ phone_number: `+${account.phone}` });
    // The fresh link reached the auth store at once (creds.me), before any interval.
    expect(cp.authWrites.some(w => w.data.includes(`${account.phone}:`))).toBe(true);

    // Send: the contact decrypts it; the same message_id again answers the first result, sends nothing.
    const messageId = `SB${randomBytes(8).toString('hex').toUpperCase()}`;
    const sent = await cp.command('runner-a', pk, { name: 'send', to: contact.phone, text: 'hello from the runner', message_id: messageId });
    expect(sent).toMatchObject({ ok: true, result: { provider_message_id: messageId } });
    // The reply says how long the runner itself took (the control plane shows it as Server-Timing).
    expect(sent.elapsed_ms).toBeGreaterThan(0);
    const again = await cp.command('runner-a', pk, { name: 'send', to: contact.phone, text: 'hello from the runner', message_id: messageId });
    expect(again.result).toEqual(sent.result);
    await eventually(async () => ((await api<InboxEntry[]>('GET', `/contacts/${contact.phone}/inbox`)).some(m => m.id === messageId) ? true : undefined));
    await ofEpoch(1, e => e.type === 'message.status' && e.provider_message_id === messageId && e.status === 'sent')(pk);
    await ofEpoch(1, e => e.type === 'message.status' && e.provider_message_id === messageId && e.status === 'delivered')(pk);
    expect((await api<InboxEntry[]>('GET', `/contacts/${contact.phone}/inbox`)).filter(m => m.id === messageId)).toHaveLength(1);

    // Commands are fenced too, and bad input gets a clear code.
    expect((await cp.command('runner-a', pk, { name: 'send', to: contact.phone, text: 'x', message_id: 'X1' }, 0)).error?.code).toBe('not_holding_lease');
    expect((await cp.command('runner-a', pk, { name: 'send', to: 'nobody', text: 'x', message_id: 'X2' })).error?.code).toBe('invalid_recipient');
    // A number without WhatsApp is refused before anything is sent (asked once, then remembered).
    for (const id of ['X3', 'X4']) {
      const refused = await cp.command('runner-a', pk, { name: 'send', to: '15559990000', text: 'x', message_id: id });
      expect(refused.error).toMatchObject({ code: 'invalid_recipient', message: '+15559990000 is not on WhatsApp' });
    }
    // The lookup is a courtesy: when WhatsApp fails it, or does not answer in time, the send goes ahead.
    for (const mode of ['error', 'drop']) {
      await api('POST', `/accounts/${account.phone}/faults`, { action: 'contact-lookups', mode });
      const other = await api<Contact>('POST', '/contacts', { name: `Lookup ${mode}` });
      const id = `SB${randomBytes(8).toString('hex').toUpperCase()}`;
      const sentAnyway = await cp.command('runner-a', pk, { name: 'send', to: other.phone, text: `lookup ${mode}`, message_id: id });
      expect(sentAnyway).toMatchObject({ ok: true, result: { provider_message_id: id } });
      await eventually(async () => ((await api<InboxEntry[]>('GET', `/contacts/${other.phone}/inbox`)).some(m => m.id === id) ? true : undefined));
    }
    await api('POST', `/accounts/${account.phone}/faults`, { action: 'contact-lookups', mode: 'normal' });

    // Receive.
    await api('POST', `/contacts/${contact.phone}/messages`, { to: account.phone, text: 'hi runner' });
    const inbound = await ofEpoch(1, e => e.type === 'message.upsert' && e.message.text === 'hi runner')(pk);
    expect(inbound).toMatchObject({ message: { direction: 'inbound', source: 'live', chat_id: contact.jid.replace(/:\d+@/, '@') } });

    const metrics = await (await fetch(`http://127.0.0.1:${a.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/runner_sessions\{state="open"\} 1/);
    expect(metrics).toMatch(/runner_messages_out_total 3/);
    expect(metrics).toMatch(/runner_number_lookups_total\{result="registered"\} 1/);
    expect(metrics).toMatch(/runner_number_lookups_total\{result="not_on_whatsapp"\} 1/);
    expect(metrics).toMatch(/runner_number_lookups_total\{result="failed"\} 1/);
    expect(metrics).toMatch(/runner_number_lookups_total\{result="timed_out"\} 1/);
    expect(metrics).toMatch(/nodejs_eventloop_lag_seconds/);
    expect(metrics).toMatch(/runner_command_duration_seconds_count\{command="send",outcome="ok"\} 4/);
    expect(metrics).toMatch(/runner_command_duration_seconds_count\{command="send",outcome="invalid_recipient"\} 3/);
    expect(metrics).toMatch(/runner_command_duration_seconds_count\{command="send",outcome="not_holding_lease"\} 1/);

    // Revoke: the runner closes, flushes, and only then says released.
    const released = await cp.revoke('runner-a', pk);
    expect(released.frame).toEqual({ type: 'lease.released', connection_pk: pk, epoch: 1 });
    expect(a.sessions.size).toBe(0);
    expect(a.outbox.depth).toBe(0);
    const eventsOfA = cp.events.length;

    // A second runner takes the lease at epoch 2: restored from the stored auth state, no QR.
    // (This one does not look numbers up: NUMBER_LOOKUP=false sends to a number as given.)
    const b = await runner('runner-b', { NUMBER_LOOKUP: 'false' });
    cp.grant('runner-b', pk);
    expect(cp.epochs.get(pk)).toBe(2);
    await ofEpoch(2, e => e.type === 'connection.status' && e.status === 'connected')(pk);
    expect(cp.events.filter(e => e.epoch === 2 && e.event.type === 'qr')).toEqual([]);
    await api('POST', `/contacts/${contact.phone}/messages`, { to: account.phone, text: 'still there?' });
    const later = await ofEpoch(2, e => e.type === 'message.upsert' && e.message.text === 'still there?')(pk);
    expect(later).toMatchObject({ message: { direction: 'inbound' } });
    expect(cp.events.slice(eventsOfA).every(e => e.runnerId === 'runner-b')).toBe(true);
    const fromB = await cp.command('runner-b', pk, { name: 'send', to: contact.phone, text: 'from runner b', message_id: `SB${randomBytes(8).toString('hex').toUpperCase()}` });
    expect(fromB.ok).toBe(true);
    expect((await cp.command('runner-b', pk, { name: 'send', to: '15559990000', text: 'unchecked', message_id: 'X5' })).ok).toBe(true);
    expect((await api<{ jid: string }[]>('GET', '/control/decrypt-failures'.replace('/control', ''))).length).toBe(0);

    // SIGTERM-style drain: announce, release when revoked, then stop.
    const draining = b.drain(10_000);
    await cp.until(() => cp.frames.find(f => f.runnerId === 'runner-b' && f.frame.type === 'draining'), 5000, 'draining');
    expect((await fetch(`http://127.0.0.1:${b.httpPort}/readyz`).catch(() => ({ status: 0 }))).status).not.toBe(200);
    await cp.revoke('runner-b', pk, 'drain');
    await draining;
    expect(b.sessions.size).toBe(0);
  });

  it('pairing code login; conflict → replaced without fighting; restart; a lost lease stops the session', async () => {
    const r = await runner('runner-c');
    const account = await api<Account>('POST', '/accounts', { name: 'Code Login' });
    const contact = await api<Contact>('POST', '/contacts', { name: 'Jo' });
    const pk = randomUUID();
    cp.grant('runner-c', pk);
    const reply = await cp.command('runner-c', pk, { name: 'pairing-code', phone_number: account.phone });
    expect(reply).toMatchObject({ ok: true, result: { code: expect.stringMatching(/^[A-Z0-9]{8}$/) } });
    await eventually(async () => ((await api<Array<{ phone: string }>>('GET', '/pairing-requests')).some(p => p.phone === account.phone) ? true : undefined));
    await api('POST', `/accounts/${account.phone}/pairing-code`, { code: reply.result!.code });
    await ofEpoch(1, e => e.type === 'connection.status' && e.status === 'connected' && e.phone_number === `+${account.phone}`)(pk);

    // Another client took the session: report and stop, never reconnect.
    await api('POST', `/accounts/${account.phone}/faults`, { action: 'stream-error', code: 'conflict' });
    await ofEpoch(1, e => e.type === 'connection.status' && e.status === 'replaced' && e.reason === 'conflict')(pk);
    await new Promise(res => setTimeout(res, 500));
    expect(r.sessions.stateOf(pk)).toBe('replaced');
    expect((await api<{ devices: Array<{ online: boolean }> }>('GET', `/accounts/${account.phone}`)).devices.some(d => d.online)).toBe(false);
    const statusCount = cp.eventsOf(pk).filter(e => e.type === 'connection.status' && e.status === 'connected').length;

    // restart: reopen from saved auth state.
    expect(await cp.command('runner-c', pk, { name: 'restart' })).toMatchObject({ ok: true });
    await cp.until(() => (cp.eventsOf(pk).filter(e => e.type === 'connection.status' && e.status === 'connected').length > statusCount ? true : undefined), 20_000, 'reconnected');

    // The control-plane link drops and comes back (the Scheduler meanwhile announced the connection
    // unreachable): the runner reports its open session as connected again, without reconnecting to WhatsApp.
    const connectedBefore = cp.eventsOf(pk).filter(e => e.type === 'connection.status' && e.status === 'connected').length;
    const hellos = cp.frames.filter(f => f.runnerId === 'runner-c' && f.frame.type === 'hello').length;
    cp.runners.get('runner-c')!.ws.terminate();
    await cp.until(() => (cp.frames.filter(f => f.runnerId === 'runner-c' && f.frame.type === 'hello').length > hellos ? true : undefined), 20_000, 'hello again');
    await cp.until(() => (cp.eventsOf(pk).filter(e => e.type === 'connection.status' && e.status === 'connected').length > connectedBefore ? true : undefined), 20_000, 'connected re-announced');
    expect(r.sessions.stateOf(pk)).toBe('open');

    // The lease moves on behind this runner's back: its next events are refused and it stops.
    const released = cp.frames.length;
    cp.epochs.set(pk, 7);
    await api('POST', `/contacts/${contact.phone}/messages`, { to: account.phone, text: 'to a stale runner' });
    await cp.until(() => cp.frames.slice(released).find(f => f.frame.type === 'lease.released' && f.frame.connection_pk === pk), 20_000, 'released after lost lease');
    expect(r.sessions.size).toBe(0);
    expect(cp.events.some(e => e.event.type === 'message.upsert' && e.event.message.text === 'to a stale runner')).toBe(false);
  });

  it('logout unlinks the device, reports logged_out and deletes the auth state, keeping the lease', async () => {
    const r = await runner('runner-d');
    const account = await api<Account>('POST', '/accounts', { name: 'Logout' });
    const pk = randomUUID();
    cp.grant('runner-d', pk);
    const qr = await cp.waitForEvent(pk, e => e.type === 'qr', 20_000, 'qr');
    await api('POST', `/accounts/${account.phone}/scan`, { qr: qr.type === 'qr' ? qr.qr : '' });
    await ofEpoch(1, e => e.type === 'connection.status' && e.status === 'connected')(pk);
    await cp.until(() => (cp.auth.has(pk) ? true : undefined), 5000, 'auth stored');
    // A dropped socket is reconnected (with backoff) on its own.
    await api('POST', `/accounts/${account.phone}/faults`, { action: 'drop-socket' });
    await cp.until(() => (cp.eventsOf(pk).filter(e => e.type === 'connection.status' && e.status === 'connected').length === 2 ? true : undefined), 20_000, 'reconnected');
    expect(cp.eventsOf(pk).some(e => e.type === 'connection.status' && e.status === 'connecting' && e.reason === 'connection_closed')).toBe(true);
    expect(await cp.command('runner-d', pk, { name: 'logout' })).toMatchObject({ ok: true });
    await ofEpoch(1, e => e.type === 'connection.status' && e.status === 'logged_out' && e.reason === 'logged_out')(pk);
    await cp.until(() => (cp.auth.has(pk) ? undefined : true), 5000, 'auth deleted');
    expect((await api<{ devices: unknown[] }>('GET', `/accounts/${account.phone}`)).devices).toEqual([]);
    expect(r.sessions.stateOf(pk)).toBe('logged_out');
    expect((await cp.command('runner-d', pk, { name: 'send', to: '15550001111', text: 'x', message_id: 'L1' })).error?.code).toBe('not_connected');
    await cp.revoke('runner-d', pk, 'stopped');
    expect(r.sessions.size).toBe(0);
  });
});
