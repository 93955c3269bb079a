// The Baileys adapter: one WhatsApp Web socket per session, its connection policy (reconnect, restart,
// stop without fighting), and commands (send text or media, pairing code, logout, restart). It turns Baileys events
// into protocol events through whatsapp-events.ts and hands them to `emit`; it knows nothing of leases.
import makeWASocket, {
  Browsers,
  cleanMessage,
  isJidGroup,
  jidNormalizedUser,
  type AnyMessageContent,
  type BaileysEventMap,
  type GroupMetadata,
  type MessageUserReceipt,
  type WAMessage,
  type WAMessageKey,
  type UserFacingSocketConfig,
  type WASocket,
} from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import { recipientJid } from '../protocol/recipient.js';
import type { CommandResult, LinkPreview, QuotedMessage, RunnerEvent, SendContent, SendMedia } from '../protocol/runner.js';
import { checkSend, ContentError, mediaContent, quotedMessage, structuredContent, textContent, withMentions } from './message-content.js';
import type { RemoteAuthState } from './auth-state.js';
import { backoffMs, sleep, within } from './backoff.js';
import { BoundedMap } from './bounded-map.js';
import { CallHandler, type CallPolicy } from './calls.js';
import { clock } from './clock.js';
import type { GroupContext } from './group-actions.js';
import type { groupCommandErrorCodes } from '../protocol/groups.js';
import { GroupReceipts, type GroupReceiptKind } from './group-receipts.js';
import { runMessageAction } from './message-actions.js';
import { changeEventId, isChangeMessage, MessageChanges, type PollSource } from './message-changes.js';
import { MediaSourceError } from './media-source.js';
import { ReceiptGate, type Orphan } from './receipt-gate.js';
import { incomingFileOf } from './media-in.js';
import { chatOfLid, fillPhoneNumbers } from './lid-mapping.js';
import { contactEvents, mappingContacts, PeopleSeen } from './contacts.js';
import { Memo } from './memo.js';
import type { RunnerMetrics } from './metrics.js';
import type { RegisteredNumbers } from './registered-numbers.js';
import { SendPacer, type PacingRule } from './send-pacing.js';
import {
  ackEvent,
  closePolicy,
  connectionStatusEvent,
  historyEvents,
  nameGroupChats,
  phoneNumberFromJid,
  qrEvent,
  qrLifetimeMs,
  statusEvent,
  statusEvents,
  upsertEvents,
} from './whatsapp-events.js';

export type CommandErrorCode =
  | 'not_connected'
  | 'not_group_admin'
  | 'invalid_recipient'
  | 'send_failed'
  | 'bad_command'
  | 'timeout'
  | 'internal'
  | 'media_unavailable'
  | 'media_too_large'
  | 'send_queue_full'
  | (typeof groupCommandErrorCodes)[number];
/** A profile-picture query WhatsApp does not answer within this is given up. */
const PROFILE_PICTURE_TIMEOUT_MS = 10_000;

export class CommandError extends Error {
  constructor(
    readonly code: CommandErrorCode,
    message: string,
    /** For a refusal that clears with time (send_queue_full): when the same command would be taken. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** idle: no socket (not started, or stopped after qr_timeout/forbidden); the rest follow Baileys. */
export type SessionState = 'idle' | 'connecting' | 'qr' | 'open' | 'reconnecting' | 'logged_out' | 'replaced' | 'stopped';

export type WhatsAppSessionOptions = {
  connectionPk: string;
  auth: RemoteAuthState;
  /** Hands events on; `whenStored` (by event id) is to run once the control plane has that event. */
  emit: (events: RunnerEvent[], whenStored?: ReadonlyMap<string, () => void>) => void;
  logger: Logger;
  /**
   * Holds each received message's delivery receipt until the control plane has stored the message
   * (receipt-gate.ts), so WhatsApp redelivers what a dying runner never handed over. On unless false.
   */
  deferReceipts?: boolean;
  metrics?: RunnerMetrics;
  waWebSocketUrl?: string;
  /** Downloads a media send's file (media-source.ts: token only to the control plane, size and time bounded). */
  fetchMedia?: (url: string) => Promise<Buffer>;
  /** Which account each phone number reaches (shared by the runner's sessions); unset: numbers are sent to as given. */
  numbers?: RegisteredNumbers;
  /** Downloads a received message's file and hands it to the control plane (media-in.ts); never throws. Unset: metadata only. */
  receiveMedia?: (msg: WAMessage, sock: WASocket) => Promise<unknown>;
  /** Baileys options that make its media traffic trust the emulator's media CA (WA_MEDIA_CA; emulator/trust.ts). */
  mediaTrust?: Pick<UserFacingSocketConfig, 'fetchAgent' | 'options'>;
  /** Bounded concurrent handshakes: held from socket creation until open, QR shown, or close. */
  loginSlot?: () => Promise<() => void>;
  reconnectBaseMs?: number;
  reconnectCapMs?: number;
  /** Baileys' qrTimeout (unset: 60 s for the first QR, 20 s for later ones). */
  qrTimeoutMs?: number;
  connectTimeoutMs?: number;
  onStateChange?: (state: SessionState, previous: SessionState) => void;
  /** Pacing of this connection's sends (send-pacing.ts; SEND_PACE…); unset: none. */
  sendPacing?: PacingRule;
  /** A stored poll's secret and options from the control plane, for votes on polls this session did not see. */
  storedPoll?: (chatId: string, pollId: string) => Promise<PollSource | null>;
  /** The connection's call policy, asked as a call rings (calls.ts); unset: calls are only reported. */
  callPolicy?: () => Promise<CallPolicy>;
};

/** What a send may carry besides its text or file (protocol/runner.ts `send`). */
export interface SendExtras {
  content?: SendContent;
  quoted?: QuotedMessage;
  mentions?: string[];
  link_preview?: LinkPreview;
}

/** What a send reports: the message id, WhatsApp's timestamp, and where it went when not where asked. */
export type SendResult = { provider_message_id: string; timestamp: string; recipient_jid?: string; chat_jid?: string };

const SENT_MEMORY = 2000;
/** How long a send waits for WhatsApp's server ack before answering `timeout` (outcome unknown). */
const SERVER_ACK_TIMEOUT_MS = 10_000;
/** A media send also uploads the file first (Baileys' upload timeout), so its ack may come this much later. */
const MEDIA_UPLOAD_TIMEOUT_MS = 60_000;
const LOGIN_SLOT_MAX_MS = 45_000;
/** A number lookup slower than this is given up on, and the send goes ahead without it. */
const NUMBER_LOOKUP_TIMEOUT_MS = 5_000;
/**
 * Group metadata (participants, addressing mode) is what a group send encrypts for. Without a cache Baileys
 * asks WhatsApp for it before every group message (an extra round trip, and a pattern WhatsApp rate-limits);
 * kept a few minutes, and dropped at once when WhatsApp reports a change to the group.
 */
const GROUP_METADATA_TTL_MS = 5 * 60_000;
const GROUP_METADATA_MAX = 1000;
/** Group subjects remembered per session (they name group chats); the oldest is forgotten first. */
const GROUP_SUBJECTS_MAX = 5000;

export class WhatsAppSession {
  state: SessionState = 'idle';
  private sock: WASocket | undefined;
  private generation = 0;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private qrCount = 0;
  private releaseSlot: (() => void) | undefined;
  private sent = new BoundedMap<string, Promise<SendResult>>(SENT_MEMORY);
  /** Sends waiting for WhatsApp's <ack class="message">, by message id. */
  private readonly serverAcks = new Map<string, (error?: string) => void>();
  private stateWaiters: Array<{ test: (s: SessionState) => boolean; resolve: () => void }> = [];
  private loggedOutHandled: Promise<void> | undefined;
  /** This account's view of its groups (membership is per account, so per session). */
  private readonly groups = new Memo<GroupMetadata>({ ttlMs: () => GROUP_METADATA_TTL_MS, maxEntries: GROUP_METADATA_MAX });
  /** Subjects of this account's groups, learnt from metadata and group updates (they name group chats). */
  private readonly groupSubjects = new BoundedMap<string, string>(GROUP_SUBJECTS_MAX);
  /** Groups whose subject was looked up because a message came from them: asked once per process. */
  private readonly subjectsAsked = new BoundedMap<string, true>(GROUP_SUBJECTS_MAX);
  /** Receipts of the group messages this session sent, until each is read by everyone. */
  private readonly groupReceipts = new GroupReceipts();

  /** Receipts of received messages, held until the messages are stored; it outlives each socket (receipt-gate.ts). */
  private readonly receipts: ReceiptGate;
  /** People already reported this session: pairs and push names (contacts.ts). */
  private readonly people = new PeopleSeen();
  /** Upserts waiting for their files (media-in.ts), in order, and how many. */
  private inbound: Promise<void> = Promise.resolve();
  private inboundPending = 0;

  /** This number's send pacing: one per session, since it is the number that must not look like a machine. */
  private readonly pacer: SendPacer | undefined;

  /** Edits, revokes, reactions and poll votes (message-changes.ts). */
  private readonly changes: MessageChanges;

  /** Incoming calls: reported, and rejected under the connection's policy (calls.ts). */
  private readonly calls: CallHandler;

  constructor(private readonly opts: WhatsAppSessionOptions) {
    this.pacer = opts.sendPacing ? new SendPacer(opts.sendPacing) : undefined;
    this.changes = new MessageChanges({
      ownJids: () => ({ pn: opts.auth.state.creds.me?.id ?? null, lid: opts.auth.state.creds.me?.lid ?? null }),
      storedPoll: opts.storedPoll,
      isGroupAdmin: async (group, jid) => {
        const meta = await this.groupFor(group);
        const p = meta.participants.find(x => [x.id, x.lid, x.phoneNumber].some(j => j && jidNormalizedUser(j) === jid));
        return p ? p.admin === 'admin' || p.admin === 'superadmin' : false;
      },
      logger: opts.logger,
    });
    this.calls = new CallHandler({
      policy: async () => (opts.callPolicy ? opts.callPolicy() : null),
      reject: async (callId, callFrom) => this.openSocket().rejectCall(callId, callFrom),
      sendText: async (jid, text) => (await this.openSocket().sendMessage(jid, { text }))?.key.id ?? null,
      phoneUserOfLid: lidUser => opts.auth.phoneUserOfLid(lidUser),
      emit: events => opts.emit(events),
      logger: opts.logger,
    });
    this.receipts = new ReceiptGate(
      opts.logger,
      delta => opts.metrics?.receiptsWaiting.inc(delta),
      undefined,
      (orphans, sock) => this.onOrphans(orphans, sock as WASocket),
    );
    if (opts.deferReceipts !== false) opts.auth.writeBarrier = () => this.receipts.barrier();
  }

  get phoneNumber(): string | null {
    return phoneNumberFromJid(this.opts.auth.state.creds.me?.id);
  }

  get registered(): boolean {
    const c = this.opts.auth.state.creds;
    return !!c.account || !!c.registered;
  }

  /** Opens the socket (through the login slot) and keeps it open until stop(). */
  async start(): Promise<void> {
    if (this.sock || this.state === 'open') return;
    this.opts.emit([connectionStatusEvent('connecting')]);
    await this.connect();
  }

  /** Deliberate stop (lease revoked, drain, restart): no status event, no reconnect. */
  async stop(next: SessionState = 'stopped'): Promise<void> {
    this.generation++;
    clearTimeout(this.reconnectTimer);
    this.releaseSlot?.();
    const sock = this.sock;
    this.sock = undefined;
    this.setState(next);
    if (sock) await endSocket(sock);
  }

  /** `timeoutMs`: how long the control plane waits for the answer (a paced send never waits past it). */
  async send(to: string, text: string, messageId: string, media?: SendMedia, opts: { timeoutMs?: number } & SendExtras = {}): Promise<SendResult> {
    const earlier = this.sent.get(messageId);
    if (earlier) return earlier;
    const jid = recipientJid(to);
    if (!jid) throw new CommandError('invalid_recipient', `not a phone number or JID: ${to}`);
    let quoted: WAMessage | undefined;
    try {
      checkSend({ text, media, ...opts });
      quoted = opts.quoted && quotedMessage(opts.quoted);
    } catch (err) {
      if (err instanceof ContentError) throw new CommandError('bad_command', err.message);
      throw err;
    }
    if (!this.sock || this.state !== 'open') throw new CommandError('not_connected', `session is ${this.state}`);
    const myTurn = this.bookTurn(opts.timeoutMs);
    const sending = (async () => {
      const target = await this.deliveryJid(jid);
      if (!target) throw new CommandError('invalid_recipient', `+${jid.split('@')[0]} is not on WhatsApp`);
      if (isJidGroup(target)) this.groupReceipts.expect(messageId, this.otherMembers(await this.groupFor(target)));
      let content: AnyMessageContent = opts.content ? structuredContent(opts.content) : textContent(text, opts.link_preview);
      if (media) {
        if (!this.opts.fetchMedia) throw new CommandError('media_unavailable', 'this runner cannot fetch media');
        content = mediaContent(media, text, await this.opts.fetchMedia(media.source.url));
      }
      content = withMentions(content, opts.mentions);
      await myTurn();
      // The download (or the wait for its turn) took time: the socket it was meant for may be gone.
      const sock = this.sock;
      if (!sock || this.state !== 'open') throw new CommandError('not_connected', `session is ${this.state}`);
      // Registered before sending: the ack can come back before sendMessage resolves.
      const acked = this.serverAck(messageId, media ? SERVER_ACK_TIMEOUT_MS + MEDIA_UPLOAD_TIMEOUT_MS : SERVER_ACK_TIMEOUT_MS);
      acked.catch(() => undefined); // awaited below, unless sendMessage fails first
      const msg = await sock.sendMessage(target, content, { messageId, ...(quoted ? { quoted } : {}), ...(media ? { mediaUploadTimeoutMs: MEDIA_UPLOAD_TIMEOUT_MS } : {}) }).catch((err: unknown) => {
        this.serverAcks.get(messageId)?.('not sent'); // settles the ack wait and its timer
        throw err;
      });
      if (!msg?.key.id) throw new CommandError('send_failed', 'Baileys returned no message');
      // The API promises the id once WhatsApp has the message, not merely once it left the socket.
      await acked;
      this.opts.metrics?.messagesOut.inc();
      const seconds = Number(msg.messageTimestamp ?? 0);
      return {
        provider_message_id: msg.key.id,
        timestamp: new Date(seconds > 0 ? seconds * 1000 : Date.now()).toISOString(),
        ...(target !== jid ? { recipient_jid: target } : {}),
        ...chatOfLid(target, lidUser => this.opts.auth.phoneUserOfLid(lidUser)),
      };
    })();
    this.sent.set(messageId, sending);
    // A failed send may be retried with the same id; a successful one is answered from memory.
    sending.catch(() => this.sent.delete(messageId));
    try {
      return await sending;
    } catch (err) {
      if (err instanceof CommandError) throw err;
      if (err instanceof MediaSourceError) throw new CommandError(err.code, err.message);
      if (err instanceof ContentError) throw new CommandError('bad_command', err.message);
      throw new CommandError('send_failed', (err as Error).message);
    }
  }

  /**
   * Books this send's turn under the pacing (send-pacing.ts) and answers the wait for it; refused at once
   * (`send_queue_full`) when the turn is further off than the bound. The bound leaves a quarter of the
   * control plane's timeout (at least 1 s) for WhatsApp's ack, so a paced send is answered, not timed out.
   */
  private bookTurn(timeoutMs: number | undefined): () => Promise<void> {
    if (!this.pacer) return async () => {};
    const bound = timeoutMs === undefined ? undefined : Math.max(0, timeoutMs - Math.max(1_000, timeoutMs / 4));
    const slot = this.pacer.reserve(bound);
    const metrics = this.opts.metrics;
    if (!slot.ok) {
      metrics?.sendsRefused.inc();
      throw new CommandError('send_queue_full', `this connection's sends are paced and its queue is full; retry in ${Math.ceil(slot.retryAfterMs / 1000)} s`, slot.retryAfterMs);
    }
    metrics?.sendsPaced.observe(slot.waitMs / 1000);
    const goAt = Date.now() + slot.waitMs;
    return async () => {
      const ms = goAt - Date.now();
      if (ms <= 0) return;
      metrics?.sendsWaiting.inc();
      try {
        await sleep(ms);
      } finally {
        metrics?.sendsWaiting.dec();
      }
    };
  }

  /**
   * Where a message to `jid` goes: for a phone number, the JID WhatsApp has it under (usually `jid` itself;
   * not always, see registered-numbers.ts), or null when it has no WhatsApp. Groups and LIDs go where they
   * say. The lookup is a courtesy: one that fails or hangs lets the send go to `jid` as asked.
   */
  private async deliveryJid(jid: string): Promise<string | null> {
    const sock = this.sock;
    if (!this.opts.numbers || !sock || !jid.endsWith('@s.whatsapp.net')) return jid;
    const counted = this.opts.metrics?.numberLookups;
    const lookup = async (j: string) => {
      try {
        const found = (await sock.onWhatsApp(j))?.find(r => r.exists);
        const registered = found ? jidNormalizedUser(found.jid) : null;
        counted?.inc({ result: !registered ? 'not_on_whatsapp' : registered === j ? 'registered' : 'registered_elsewhere' });
        return registered;
      } catch (err) {
        counted?.inc({ result: 'failed' });
        throw err;
      }
    };
    const TIMED_OUT = Symbol('timed out');
    try {
      const registered = await within(this.opts.numbers.registeredJid(jid, lookup), NUMBER_LOOKUP_TIMEOUT_MS, TIMED_OUT);
      if (registered !== TIMED_OUT) return registered;
      counted?.inc({ result: 'timed_out' });
      this.opts.logger.warn({ timeout_ms: NUMBER_LOOKUP_TIMEOUT_MS }, 'number lookup too slow; sending without it');
      return jid;
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'number lookup failed; sending without it');
      return jid;
    }
  }

  /**
   * The group's metadata, from memory or WhatsApp (then kept for Baileys' `cachedGroupMetadata`). A group
   * that does not exist, or that this account is not in, is the caller's mistake: `invalid_recipient`.
   */
  private async groupFor(jid: string): Promise<GroupMetadata> {
    const sock = this.sock;
    if (!sock) throw new CommandError('not_connected', `session is ${this.state}`);
    try {
      const group = await this.groups.get(jid, j => sock.groupMetadata(j));
      this.rememberSubject(jid, group.subject);
      return group;
    } catch (err) {
      const code = (err as { data?: unknown }).data;
      if (code === 404) throw new CommandError('invalid_recipient', `group ${jid} does not exist`);
      if (code === 403) throw new CommandError('invalid_recipient', `this account is not a participant of group ${jid}`);
      throw err;
    }
  }

  /** What group management (group-actions.ts) works with: the open socket, and this session's group memory to keep right. */
  groupContext(): GroupContext {
    const sock = this.sock;
    if (!sock || this.state !== 'open') throw new CommandError('not_connected', `session is ${this.state}`);
    return { sock, forget: jid => this.groups.forget(jid), rememberSubject: (jid, subject) => this.rememberSubject(jid, subject) };
  }

  private rememberSubject(jid: string, subject: string | undefined): void {
    if (subject) this.groupSubjects.set(jid, subject);
  }

  /**
   * Names the group chats among `events` and emits them. A group whose subject this session does not know
   * yet is looked up once in the background; its later messages carry the name.
   */
  private emitContacts(contacts: Parameters<typeof contactEvents>[0]): void {
    const events = contacts.length ? contactEvents(contacts) : [];
    if (events.length) this.opts.emit(events);
  }

  private emitNamed(events: RunnerEvent[], whenStored?: ReadonlyMap<string, () => void>): void {
    for (const jid of nameGroupChats(events, j => this.groupSubjects.get(j))) {
      if (this.subjectsAsked.has(jid)) continue;
      this.subjectsAsked.set(jid, true);
      void this.groupFor(jid).catch(() => undefined);
    }
    if (events.length) this.opts.emit(events, whenStored);
  }

  /** The group's participants other than this account, each with the JIDs it may appear under. */
  private otherMembers(group: GroupMetadata): string[][] {
    const me = this.opts.auth.state.creds.me;
    const own = new Set([me?.id, me?.lid].filter((j): j is string => !!j).map(j => jidNormalizedUser(j)));
    return group.participants
      .map(p => [p.id, p.lid, p.phoneNumber].filter((j): j is string => !!j).map(j => jidNormalizedUser(j)))
      .filter(ids => !ids.some(j => own.has(j)));
  }

  /** Participants' receipts of our group messages, as the messages' status once everyone is counted. */
  private onGroupReceipts(receipts: { key: WAMessageKey; receipt: MessageUserReceipt }[]): void {
    const events: RunnerEvent[] = [];
    for (const { key, receipt } of receipts) {
      if (!key.fromMe || !key.id || !key.remoteJid || !isJidGroup(key.remoteJid) || !receipt.userJid) continue;
      const kind: GroupReceiptKind | undefined =
        receipt.readTimestamp || receipt.playedTimestamp ? 'read' : receipt.receiptTimestamp ? 'delivered' : undefined;
      const status = kind && this.groupReceipts.receipt(key.id, jidNormalizedUser(receipt.userJid), kind);
      if (status) events.push(statusEvent(key.id, key.remoteJid, status));
    }
    if (events.length) this.opts.emit(events);
  }

  private serverAck(messageId: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.serverAcks.delete(messageId);
        reject(new CommandError('timeout', `no server ack within ${timeoutMs} ms`));
      }, timeoutMs);
      this.serverAcks.set(messageId, (error) => {
        clearTimeout(timer);
        this.serverAcks.delete(messageId);
        if (error) reject(new CommandError('send_failed', `WhatsApp refused the message (error ${error})`));
        else resolve();
      });
    });
  }

  /** An edit or a revoke of a message already sent (message-actions.ts). */
  async messageAction(c: Parameters<typeof runMessageAction>[1]): Promise<CommandResult> {
    const sock = this.sock;
    if (!sock || this.state !== 'open') throw new CommandError('not_connected', `session is ${this.state}`);
    // Someone else's message in a group: only an admin may revoke it (WhatsApp would drop it silently).
    if (c.name === 'revoke' && !c.key.from_me && isJidGroup(c.key.remote_jid)) {
      const own = this.opts.auth.state.creds.me;
      const ids = [own?.id, own?.lid].filter((j): j is string => !!j).map(j => jidNormalizedUser(j));
      const group = await this.groupFor(c.key.remote_jid);
      const me = group.participants.find(p => [p.id, p.lid, p.phoneNumber].some(j => j && ids.includes(jidNormalizedUser(j))));
      if (me?.admin !== 'admin' && me?.admin !== 'superadmin') throw new CommandError('not_group_admin', `this account is not an admin of ${c.key.remote_jid}`);
    }
    try {
      return await runMessageAction(sock, c);
    } catch (err) {
      throw new CommandError('send_failed', (err as Error).message);
    }
  }

  /**
   * The URL of `jid`'s profile picture on WhatsApp's CDN, or null when there is none this account may see
   * (none set: 404; hidden by their privacy settings: 401/403).
   */
  async profilePicture(jid: string): Promise<string | null> {
    const sock = this.openSocket();
    try {
      return (await sock.profilePictureUrl(jid, 'image', PROFILE_PICTURE_TIMEOUT_MS)) ?? null;
    } catch (err) {
      const code = (err as { data?: unknown }).data;
      if (code === 404 || code === 401 || code === 403) return null;
      if ((err as { output?: { statusCode?: number } }).output?.statusCode === 408) throw new CommandError('timeout', 'WhatsApp did not answer in time');
      throw new CommandError('send_failed', `WhatsApp refused the picture query: ${(err as Error).message}`);
    }
  }

  /** The open socket, for what acts on it directly (chat-actions.ts), and the runner's number memory. */
  openSocket(): WASocket {
    if (!this.sock || this.state !== 'open') throw new CommandError('not_connected', `session is ${this.state}`);
    return this.sock;
  }

  get registeredNumbers(): RegisteredNumbers | undefined {
    return this.opts.numbers;
  }

  async pairingCode(phoneNumber: string): Promise<string> {
    if (this.registered) throw new CommandError('bad_command', 'already linked to a phone');
    if (this.state === 'idle' || this.state === 'stopped') await this.start();
    // Baileys can ask for a code once the server is waiting for a login (it shows a QR then).
    await this.waitForState(s => s === 'qr', 20_000);
    const sock = this.sock;
    if (!sock) throw new CommandError('not_connected', 'socket closed');
    return sock.requestPairingCode(phoneNumber);
  }

  async logout(): Promise<void> {
    const sock = this.sock;
    if (sock && this.state === 'open') {
      const handled = this.waitForState(s => s === 'logged_out', 15_000).catch(() => undefined);
      await sock.logout().catch(err => this.opts.logger.warn({ err: (err as Error).message }, 'logout request failed'));
      await handled;
      await this.loggedOutHandled;
      if ((this.state as SessionState) === 'logged_out') return;
    }
    await this.stop('stopped');
    await this.handleLoggedOut();
  }

  async restart(): Promise<void> {
    await this.stop('idle');
    await this.opts.auth.flush().catch(() => undefined);
    this.attempt = 0;
    await this.start();
  }

  private setState(state: SessionState): void {
    const previous = this.state;
    if (previous === state) return;
    this.state = state;
    this.opts.onStateChange?.(state, previous);
    this.stateWaiters = this.stateWaiters.filter(w => (w.test(state) ? (w.resolve(), false) : true));
  }

  private waitForState(test: (s: SessionState) => boolean, timeoutMs: number): Promise<void> {
    if (test(this.state)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.stateWaiters = this.stateWaiters.filter(w => w !== waiter);
        reject(new CommandError('timeout', `session did not become ready (state ${this.state})`));
      }, timeoutMs);
      const waiter = { test, resolve: () => (clearTimeout(timer), resolve()) };
      this.stateWaiters.push(waiter);
    });
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    this.setState(this.attempt > 0 ? 'reconnecting' : 'connecting');
    const release = this.opts.loginSlot ? await this.opts.loginSlot() : () => undefined;
    if (generation !== this.generation) return release();
    const slotTimer = setTimeout(release, LOGIN_SLOT_MAX_MS);
    this.releaseSlot = () => (clearTimeout(slotTimer), release());
    this.qrCount = 0;
    const { auth, logger } = this.opts;
    const receipts = this.receipts;
    const sock = makeWASocket({
      ...(this.opts.deferReceipts !== false ? { deferDeliveryReceipt: (key, send, decrypted) => receipts.hold(key, send, decrypted, sock) } : {}),
      ...(this.opts.waWebSocketUrl ? { waWebSocketUrl: this.opts.waWebSocketUrl } : {}),
      ...this.opts.mediaTrust,
      auth: auth.state,
      logger: baileysLogger(logger) as never,
      browser: Browsers.ubuntu('Switchboard'),
      markOnlineOnConnect: false,
      // Recent history only (the initial bootstrap and recent chunks, not a full sync); trimmed per chat in whatsapp-events.
      shouldSyncHistoryMessage: ({ syncType }) => syncType !== 2 /* FULL */ && syncType !== 6 /* ON_DEMAND */,
      syncFullHistory: false,
      ...(this.opts.qrTimeoutMs ? { qrTimeout: this.opts.qrTimeoutMs } : {}),
      connectTimeoutMs: this.opts.connectTimeoutMs ?? 20_000,
      cachedGroupMetadata: async jid => this.groups.peek(jid),
    });
    this.sock = sock;
    const current = () => generation === this.generation;
    const ownJid = () => auth.state.creds.me?.id ?? null;

    sock.ev.on('creds.update', update => current() && auth.credsChanged(update));
    // Any change WhatsApp reports to a group (participants, addressing, settings) invalidates what we know.
    sock.ev.on('group-participants.update', ({ id }) => this.groups.forget(id));
    sock.ev.on('groups.update', updates =>
      updates.forEach(g => {
        if (!g.id) return;
        this.groups.forget(g.id);
        this.rememberSubject(g.id, g.subject);
      }),
    );
    sock.ev.on('groups.upsert', groups => groups.forEach(g => this.rememberSubject(g.id, g.subject)));
    sock.ev.on('connection.update', update => {
      // Whatever stopped this socket, its held receipts go (and its decrypted, never-upserted messages come back).
      if (update.connection === 'close') receipts.close(sock);
      if (!current()) return;
      if (update.qr) {
        const expires = clock.now() + qrLifetimeMs(this.qrCount++, this.opts.qrTimeoutMs);
        this.releaseSlot?.();
        this.setState('qr');
        this.opts.emit([qrEvent(update.qr, expires)]);
      }
      if (update.connection === 'open') {
        this.releaseSlot?.();
        this.attempt = 0;
        this.setState('open');
        this.opts.emit([connectionStatusEvent('connected', { phone_number: this.phoneNumber })]);
        void auth.flush().catch(() => undefined);
      }
      if (update.connection === 'close') {
        this.releaseSlot?.();
        this.sock = undefined;
        const error = update.lastDisconnect?.error as { message?: string; output?: { statusCode?: number } } | undefined;
        void this.handleClose(error?.output?.statusCode, error?.message);
      }
    });
    sock.ev.on('messages.upsert', upsert => current() && this.onUpsert(upsert, sock, id => receipts.take(id), current));
    sock.ev.on('messaging-history.set', (data: BaileysEventMap['messaging-history.set']) => {
      if (!current()) return;
      // History names the groups it knows (Baileys' chats carry their subjects) before its messages go out.
      for (const chat of data.chats ?? []) if (chat.id && isJidGroup(chat.id)) this.rememberSubject(chat.id, chat.name ?? undefined);
      fillPhoneNumbers(data.messages, lidUser => this.opts.auth.phoneUserOfLid(lidUser));
      this.emitContacts([...(data.contacts ?? []), ...mappingContacts(data.lidPnMappings ?? [])]);
      this.emitNamed(historyEvents(data.messages, ownJid()));
    });
    // The address book (app-state sync), people's own names, and LID ↔ number pairs: GET /api/contacts.
    sock.ev.on('contacts.upsert', contacts => current() && this.emitContacts(contacts));
    sock.ev.on('contacts.update', contacts => current() && this.emitContacts(contacts));
    sock.ev.on('lid-mapping.update', pair => current() && this.emitContacts(mappingContacts([pair])));
    // Baileys emits no update for a successful server ack; we report it as 'sent'.
    sock.ws.on('CB:ack,class:message', (node: { attrs: { id?: string; from?: string; error?: string } }) => {
      if (!current()) return;
      if (node.attrs.id) this.serverAcks.get(node.attrs.id)?.(node.attrs.error);
      const event = ackEvent(node.attrs);
      if (event) this.opts.emit([event]);
    });
    sock.ev.on('messages.update', updates => {
      if (!current()) return;
      const events = statusEvents(updates);
      if (events.length) this.opts.emit(events);
    });
    sock.ev.on('message-receipt.update', updates => current() && this.onGroupReceipts(updates));
    sock.ev.on('call', calls => current() && void this.calls.onCalls(calls));
  }

  /**
   * Messages Baileys upserted, as events: each one's held receipt (`claim`) waits for its event to be
   * stored; files are downloaded first (media-in.ts), and events keep their order.
   */
  private onUpsert(upsert: BaileysEventMap['messages.upsert'], sock: WASocket, claim: Claim, current: () => boolean): void {
    const ownJid = this.opts.auth.state.creds.me?.id ?? null;
    fillPhoneNumbers(upsert.messages, lidUser => this.opts.auth.phoneUserOfLid(lidUser));
    const events = upsertEvents(upsert, ownJid);
    if (upsert.type === 'notify') this.opts.metrics?.messagesIn.inc(events.filter(e => e.type === 'message.upsert' && e.message.direction === 'inbound').length);
    // Changes to other messages (edits, revokes, reactions, votes) go their own way, some after a lookup; their receipts wait for them.
    this.changes.remember(upsert.messages);
    const changing = upsert.messages.filter(isChangeMessage);
    const whenStored = receiptsWaitingFor(upsert.messages.filter(m => !changing.includes(m)), events, claim);
    const emit = () => {
      this.emitNamed(events, whenStored);
      this.emitContacts(this.people.changed(upsert.messages, events));
      if (changing.length) {
        void this.changes.eventsOf(changing).then(changes => {
          if (!current()) return;
          const changesStored = receiptsWaitingFor(changing, changes, claim);
          if (changes.length) this.opts.emit(changes, changesStored);
        });
      }
      // Baileys' event buffer may fold early group receipts into the upsert of our own message.
      for (const m of upsert.messages) if (m.key.fromMe && m.userReceipt?.length) this.onGroupReceipts(m.userReceipt.map(receipt => ({ key: m.key, receipt })));
    };
    const files = upsert.type === 'notify' && this.opts.receiveMedia ? upsert.messages.filter(m => incomingFileOf(m)) : [];
    if (!files.length && !this.inboundPending) return emit();
    this.inboundPending++;
    const downloads = Promise.all(files.map(m => this.opts.receiveMedia!(m, sock)));
    this.inbound = this.inbound.then(() => downloads.catch(() => undefined)).then(() => {
      this.inboundPending--;
      emit();
    });
  }

  /**
   * Messages decrypted as their socket closed, whose upsert Baileys dropped with its event buffer
   * (receipt-gate.ts): they go out as if upserted, or they would be lost, since WhatsApp's redelivery
   * no longer decrypts.
   */
  private onOrphans(orphans: Orphan[], sock: WASocket): void {
    const me = this.opts.auth.state.creds.me;
    this.opts.logger.warn({ count: orphans.length }, 'messages decrypted as the socket closed: emitted without their upsert');
    for (const type of ['append', 'notify'] as const) {
      const mine = orphans.filter(o => o.type === type);
      if (!mine.length) continue;
      const releases = new Map(mine.map(o => [o.message.key.id, o.release]));
      for (const o of mine) if (me) cleanMessage(o.message, me.id, me.lid ?? '');
      this.onUpsert({ messages: mine.map(o => o.message), type }, sock, id => (id ? releases.get(id) : undefined), () => true);
    }
  }

  private async handleClose(code: number | undefined, message: string | undefined): Promise<void> {
    const policy = closePolicy(code, { registered: this.registered, sawQr: this.qrCount > 0, message });
    this.opts.logger.info({ code, message, action: policy.action }, 'whatsapp socket closed');
    switch (policy.action) {
      case 'restart-now':
        this.opts.metrics?.reconnects.inc({ kind: 'restart_required' });
        await this.opts.auth.flush().catch(() => undefined);
        return this.connect();
      case 'reconnect': {
        const wasOpen = this.state === 'open';
        this.setState('reconnecting');
        if (wasOpen) this.opts.emit([connectionStatusEvent('connecting', { reason: policy.reason })]);
        this.opts.metrics?.reconnects.inc({ kind: policy.reason });
        const delay = backoffMs(this.attempt++, this.opts.reconnectBaseMs ?? 1000, this.opts.reconnectCapMs ?? 60_000);
        const generation = this.generation;
        this.reconnectTimer = setTimeout(() => generation === this.generation && void this.connect(), delay);
        return;
      }
      case 'logged-out':
        this.generation++;
        this.loggedOutHandled = this.handleLoggedOut();
        return this.loggedOutHandled;
      case 'replaced':
        this.generation++;
        this.setState('replaced');
        this.opts.emit([connectionStatusEvent('replaced', { phone_number: this.phoneNumber, reason: 'conflict' })]);
        return;
      case 'qr-timeout':
        this.generation++;
        this.setState('idle');
        this.opts.emit([connectionStatusEvent('disconnected', { reason: 'qr_timeout' })]);
        return;
      case 'stop':
        this.generation++;
        this.setState('idle');
        this.opts.emit([connectionStatusEvent('disconnected', { reason: policy.reason })]);
        return;
    }
  }

  private async handleLoggedOut(): Promise<void> {
    const phone = this.phoneNumber;
    this.setState('logged_out');
    this.opts.emit([connectionStatusEvent('logged_out', { phone_number: phone, reason: 'logged_out' })]);
    await this.opts.auth.delete().catch(err => this.opts.logger.error({ err: (err as Error).message }, 'auth state delete failed'));
  }
}

/**
 * Claims the held receipt of each upserted message: a message that became an event waits for that event
 * to be stored; one that became none (a protocol message, an ignored kind) has nothing to wait for.
 */
/** The held receipt of a message id, claimed (or undefined). */
type Claim = (id: string | null | undefined) => (() => void) | undefined;

const receiptsWaitingFor = (messages: { key: WAMessageKey }[], events: RunnerEvent[], claim: Claim): Map<string, () => void> => {
  const eventOf = new Map<string, string>();
  for (const e of events) if (e.type === 'message.upsert') eventOf.set(e.message.provider_message_id, e.id);
  for (const { key } of messages) if (key.id && events.some(e => e.id === changeEventId(key.id!))) eventOf.set(key.id, changeEventId(key.id));
  const whenStored = new Map<string, () => void>();
  for (const { key } of messages) {
    const release = claim(key.id);
    if (!release) continue;
    const eventId = key.id ? eventOf.get(key.id) : undefined;
    if (eventId) whenStored.set(eventId, release);
    else release();
  }
  return whenStored;
};

/** Baileys logs every handshake step at info; per session that drowns the runner's own logs, so it speaks from warn unless debugging. */
const baileysLogger = (logger: Logger): Logger => {
  const verbose = logger.levelVal <= 20; // debug or trace
  return verbose ? logger.child({ layer: 'baileys' }) : logger.child({ layer: 'baileys' }, { level: logger.levelVal >= 40 ? logger.level : 'warn' });
};

/** Ends a Baileys socket and waits (briefly) for its close to be processed. */
const endSocket = async (sock: WASocket): Promise<void> => {
  const closed = new Promise<void>(resolve => {
    const timer = setTimeout(resolve, 3000);
    sock.ev.on('connection.update', u => u.connection === 'close' && (clearTimeout(timer), resolve()));
  });
  sock.end(undefined);
  await closed;
};
