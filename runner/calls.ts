// Incoming calls (Baileys' `call` event). Each offer is reported once as a `call.offer` event; under the
// connection's call policy (asked of the control plane as the call rings, so a change applies to the next
// call) it is first rejected, and the caller may be sent the policy's text. A call WhatsApp delivers late
// (`offline`: the account was away when it rang) has ended: it is reported, never rejected.
import { isLidUser, jidNormalizedUser, type WACallEvent } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { RunnerEvent } from '../protocol/runner.js';
import { BoundedMap } from './bounded-map.js';
import { clock } from './clock.js';

export type CallPolicy = { reject: boolean; message: string | null };

/** Calls already handled by this session: Baileys may report one offer more than once (an offer and its notice). */
const HANDLED_MAX = 1000;

export interface CallHandlerOptions {
  /** The connection's policy now; null when it cannot be had (then nothing is rejected). */
  policy: () => Promise<CallPolicy | null>;
  reject: (callId: string, callFrom: string) => Promise<void>;
  /** Sends `text` to `jid`; answers the sent message's id. */
  sendText: (jid: string, text: string) => Promise<string | null>;
  /** The phone-number user of a LID user, when the account knows it (lid-mapping.ts). */
  phoneUserOfLid: (lidUser: string) => string | undefined;
  emit: (events: RunnerEvent[]) => void;
  logger: Logger;
}

export class CallHandler {
  private readonly handled = new BoundedMap<string, true>(HANDLED_MAX);

  constructor(private readonly opts: CallHandlerOptions) {}

  /** Handles what Baileys reports; only offers matter (ringing, ends and relay updates follow each one). */
  async onCalls(calls: readonly WACallEvent[]): Promise<void> {
    for (const call of calls) {
      if (call.status !== 'offer' || this.handled.has(call.id)) continue;
      this.handled.set(call.id, true);
      await this.onOffer(call).catch(err => this.opts.logger.warn({ err: (err as Error).message, call_id: call.id }, 'call offer not handled'));
    }
  }

  private async onOffer(call: WACallEvent): Promise<void> {
    const from = jidNormalizedUser(call.from);
    const chat = callerChat(call, this.opts.phoneUserOfLid);
    let rejected = false;
    let rejectMessageId: string | null = null;
    if (!call.offline) {
      const policy = await this.opts.policy().catch(err => {
        this.opts.logger.warn({ err: (err as Error).message }, 'call policy unavailable: the call is left ringing');
        return null;
      });
      if (policy?.reject) {
        try {
          await this.opts.reject(call.id, call.from);
          rejected = true;
        } catch (err) {
          this.opts.logger.warn({ err: (err as Error).message, call_id: call.id }, 'call reject failed');
        }
        // Only after a reject: a text to someone whose call still rings would read as an answer.
        if (rejected && policy.message) {
          rejectMessageId = await this.opts.sendText(chat, policy.message).catch(err => {
            this.opts.logger.warn({ err: (err as Error).message, call_id: call.id }, 'call reject message not sent');
            return null;
          });
        }
      }
    }
    this.opts.emit([callOfferEvent(call, from, chat, rejected, rejectMessageId)]);
  }
}

/** The caller's chat: under their phone number when WhatsApp (or the account's LID map) tells it, as messages are. */
export function callerChat(call: Pick<WACallEvent, 'from' | 'callerPn'>, phoneUserOfLid: (lidUser: string) => string | undefined): string {
  const from = jidNormalizedUser(call.from);
  if (!isLidUser(from)) return from;
  if (call.callerPn) return jidNormalizedUser(call.callerPn);
  const user = phoneUserOfLid(from.split('@')[0]!);
  return user ? `${user}@s.whatsapp.net` : from;
}

export const callOfferEvent = (call: WACallEvent, from: string, chat: string, rejected: boolean, rejectMessageId: string | null, now = clock.now()): RunnerEvent => ({
  id: `call:${call.id}`,
  at: new Date(now).toISOString(),
  type: 'call.offer',
  call: {
    call_id: call.id,
    from,
    chat_id: chat,
    is_video: !!call.isVideo,
    is_group: !!call.isGroup,
    group_id: call.groupJid ?? null,
    offline: call.offline,
    timestamp: (Number.isFinite(call.date?.getTime()) ? call.date : new Date(now)).toISOString(),
    rejected,
    reject_message_id: rejectMessageId,
  },
});

/** The connection's call policy (GET /internal/calls/:pk/policy, lease holder only). */
export async function fetchCallPolicy(opts: { controlPlaneUrl: string; token: string; connectionPk: string; epoch: number }): Promise<CallPolicy> {
  const url = new URL(`/internal/calls/${opts.connectionPk}/policy`, opts.controlPlaneUrl);
  url.searchParams.set('epoch', String(opts.epoch));
  const res = await fetch(url, { headers: { authorization: `Bearer ${opts.token}` }, signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`call policy: HTTP ${res.status}`);
  return (await res.json()) as CallPolicy;
}
