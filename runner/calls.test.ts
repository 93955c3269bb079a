import type { WACallEvent } from '@whiskeysockets/baileys';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { RunnerEvent } from '../protocol/runner.js';
import { CallHandler, callerChat, type CallPolicy } from './calls.js';

const offer = (over: Partial<WACallEvent> = {}): WACallEvent => ({
  chatId: '15550001111@s.whatsapp.net',
  from: '15550001111@s.whatsapp.net',
  id: 'CALL1',
  date: new Date('2026-12-04T10:00:00Z'),
  offline: false,
  status: 'offer',
  isVideo: false,
  isGroup: false,
  ...over,
});

function handler(policy: () => Promise<CallPolicy | null>, opts: { rejectFails?: boolean } = {}) {
  const rejected: string[] = [];
  const texts: [string, string][] = [];
  const events: RunnerEvent[] = [];
  const h = new CallHandler({
    policy,
    reject: async (id) => {
      if (opts.rejectFails) throw new Error('socket closed');
      rejected.push(id);
    },
    sendText: async (jid, text) => (texts.push([jid, text]), 'SENT1'),
    phoneUserOfLid: (lid) => (lid === '777' ? '15550002222' : undefined),
    emit: (e) => events.push(...e),
    logger: pino({ level: 'silent' }),
  });
  return { h, rejected, texts, events };
}
const reported = (events: RunnerEvent[]) => events.map((e) => (e.type === 'call.offer' ? e.call : null));

describe('callerChat', () => {
  it('names the caller by phone number when WhatsApp or the LID map tells it', () => {
    const none = () => undefined;
    expect(callerChat({ from: '15550001111:3@s.whatsapp.net' }, none)).toBe('15550001111@s.whatsapp.net');
    expect(callerChat({ from: '999@lid', callerPn: '15550003333@s.whatsapp.net' }, none)).toBe('15550003333@s.whatsapp.net');
    expect(callerChat({ from: '777@lid' }, (lid) => (lid === '777' ? '15550002222' : undefined))).toBe('15550002222@s.whatsapp.net');
    expect(callerChat({ from: '888@lid' }, none)).toBe('888@lid');
  });
});

describe('CallHandler', () => {
  it('reports an offer once, left ringing when the policy does not reject', async () => {
    const { h, rejected, texts, events } = handler(async () => ({ reject: false, message: 'unused' }));
    await h.onCalls([offer(), offer({ status: 'ringing' }), offer()]);
    expect(rejected).toEqual([]);
    expect(texts).toEqual([]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ id: 'call:CALL1', type: 'call.offer' });
    expect(reported(events)[0]).toMatchObject({ call_id: 'CALL1', rejected: false, reject_message_id: null, timestamp: '2026-12-04T10:00:00.000Z' });
  });

  it('rejects under the policy and then sends its text to the caller', async () => {
    const { h, rejected, texts, events } = handler(async () => ({ reject: true, message: 'Please write.' }));
    await h.onCalls([offer({ id: 'C2', from: '777@lid', isVideo: true })]);
    expect(rejected).toEqual(['C2']);
    expect(texts).toEqual([['15550002222@s.whatsapp.net', 'Please write.']]);
    expect(reported(events)[0]).toMatchObject({ from: '777@lid', chat_id: '15550002222@s.whatsapp.net', is_video: true, rejected: true, reject_message_id: 'SENT1' });
  });

  it('never rejects a call delivered offline: it has ended', async () => {
    let asked = 0;
    const { h, rejected, events } = handler(async () => (asked++, { reject: true, message: 'x' }));
    await h.onCalls([offer({ id: 'C3', offline: true })]);
    expect(asked).toBe(0);
    expect(rejected).toEqual([]);
    expect(reported(events)[0]).toMatchObject({ offline: true, rejected: false });
  });

  it('still reports the call when the policy cannot be had or the reject fails, and sends no text then', async () => {
    const down = handler(async () => {
      throw new Error('control plane down');
    });
    await down.h.onCalls([offer({ id: 'C4' })]);
    expect(reported(down.events)[0]).toMatchObject({ rejected: false });
    const failing = handler(async () => ({ reject: true, message: 'x' }), { rejectFails: true });
    await failing.h.onCalls([offer({ id: 'C5' })]);
    expect(failing.texts).toEqual([]);
    expect(reported(failing.events)[0]).toMatchObject({ rejected: false, reject_message_id: null });
  });
});
