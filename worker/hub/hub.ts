// Hub Durable Object (one per tenant, named by the tenant id): the tenant's realtime stream.
//
// - Numbers every event with a tenant-wide increasing `sequence` and keeps the last BUFFER_MAX_EVENTS of
//   them (or BUFFER_MAX_AGE_MS, whichever is less) in SQLite, so a client that reconnects with `?since=`
//   gets what it missed, or one `resync` frame when the buffer no longer reaches back that far.
// - Holds the tenant's native WebSocket clients (partyserver, hibernating: idle dashboards cost nothing),
//   tagged `all` or `c:<connection_id>` so a publish reaches exactly the sockets whose filter matches.
// - Relays to Socket.IO sessions (worker/realtime/socketio-session.ts), which live in Durable Objects of
//   their own because their transport (long-polling, then the upgrade) starts before their tenant is known.
// - Issues and redeems single-use tickets, the browser's way in (a WebSocket cannot carry headers).
//
// Only the Worker reaches this object, after authenticating the caller: the filter and `since` arrive in
// INTERNAL_HEADERS, which the Worker strips from what clients send.
import { Server, type Connection, type ConnectionContext } from 'partyserver';
import type { RealtimeEvent } from '../../protocol/events';
import { MAX_TICKET_TTL_SECONDS, TICKET_PATTERN, type ResyncReason } from '../../protocol/realtime';
import { newSessionToken, sha256Hex } from '../auth/credentials';
import type { Env } from '../env';
import { encodeEvent } from '../realtime/socketio';
import { planReplay, pruneBounds } from '../realtime/replay';

/** Headers by which the Worker tells the Hub about an authenticated upgrade. */
export const INTERNAL_HEADERS = {
  filter: 'x-switchboard-connection-filter',
  since: 'x-switchboard-since',
  /** The credential that opened the stream (realtime/credentials.ts StreamCredential), and when it expires. */
  credential: 'x-switchboard-credential',
  expiresAt: 'x-switchboard-credential-expires',
} as const;

/** Close code of a stream whose credential was revoked, logged out or expired (4000–4999: the application's). */
export const CREDENTIAL_ENDED = 4001;
const credentialTag = (credential: string) => `cred:${credential}`;
type StreamState = { credential: string | null; expiresAt: number | null };

const ALL = 'all';
const tagOf = (connectionId: string) => `c:${connectionId}`;

type StoredFrame = {
  sequence: number;
  connection_id: string;
  event: string;
  data: string;
};

/** The native rendering of a frame: `{ event, data, sequence }`, from the stored JSON of `data`. */
const nativeFrame = (event: string, data: string, sequence: number) =>
  `{"event":${JSON.stringify(event)},"data":${data},"sequence":${sequence}}`;

const resyncData = (reason: ResyncReason, oldest?: number) => ({ reason, ...(oldest === undefined ? {} : { oldest_sequence: oldest }) });

export class Hub extends Server<Env> {
  static override options = { hibernate: true };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS frames (
      sequence INTEGER PRIMARY KEY, connection_id TEXT NOT NULL, event TEXT NOT NULL, data TEXT NOT NULL, at INTEGER NOT NULL)`);
    sql.exec(`CREATE INDEX IF NOT EXISTS frames_at ON frames (at)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS stream (id INTEGER PRIMARY KEY CHECK (id = 1), head INTEGER NOT NULL)`);
    sql.exec(`INSERT OR IGNORE INTO stream (id, head) VALUES (1, 0)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS tickets (hash TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)`);
    // Socket.IO sessions that joined this stream; connection_id NULL: every connection.
    sql.exec(`CREATE TABLE IF NOT EXISTS relays (sid TEXT PRIMARY KEY, connection_id TEXT)`);
    // What opened each ticket and relay, so that they end with it (columns added to tables of older objects).
    for (const [table, column] of [
      ['tickets', 'credential TEXT'],
      ['tickets', 'credential_expires_at INTEGER'],
      ['relays', 'credential TEXT'],
      ['relays', 'expires_at INTEGER'],
    ] as const) {
      const name = column.split(' ')[0];
      if (!sql.exec<{ name: string }>(`SELECT name FROM pragma_table_info('${table}')`).toArray().some((c) => c.name === name)) {
        sql.exec(`ALTER TABLE ${table} ADD COLUMN ${column}`);
      }
    }
    // Keep-alive without waking the Hub: a client's "ping" text frame is answered "pong" by the runtime.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong'));
  }

  private get head(): number {
    return this.ctx.storage.sql.exec<{ head: number }>('SELECT head FROM stream WHERE id = 1').one().head;
  }

  // Publishing -------------------------------------------------------------------------------------

  /** Numbers, stores and sends each event to every matching client; returns how many frames went out. */
  async publish(events: RealtimeEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    let head = this.head;
    const stored: StoredFrame[] = [];
    for (const e of events) {
      head++;
      const data = JSON.stringify(e.data);
      sql.exec('INSERT INTO frames (sequence, connection_id, event, data, at) VALUES (?, ?, ?, ?, ?)', head, e.connectionId, e.event, data, now);
      stored.push({ sequence: head, connection_id: e.connectionId, event: e.event, data });
    }
    sql.exec('UPDATE stream SET head = ? WHERE id = 1', head);
    const bounds = pruneBounds(head, now);
    sql.exec('DELETE FROM frames WHERE sequence <= ? OR at < ?', bounds.maxDroppedSequence, bounds.minAt);

    let sent = 0;
    for (const f of stored) {
      const frame = nativeFrame(f.event, f.data, f.sequence);
      for (const tag of [ALL, tagOf(f.connection_id)]) {
        for (const ws of this.ctx.getWebSockets(tag)) {
          try {
            ws.send(frame);
            sent++;
          } catch {
            // Closing under us: its close handler cleans up.
          }
        }
      }
    }
    sent += await this.relay(stored);
    return sent;
  }

  /** Hands the frames to every Socket.IO session whose filter matches; forgets sessions that are gone. */
  private async relay(frames: StoredFrame[]): Promise<number> {
    const relays = this.ctx.storage.sql.exec<{ sid: string; connection_id: string | null }>('SELECT sid, connection_id FROM relays').toArray();
    if (relays.length === 0) return 0;
    const packets = frames.map((f) => ({ connectionId: f.connection_id, packet: encodeEvent(f.event, f.data) }));
    let sent = 0;
    await Promise.all(
      relays.map(async (r) => {
        const mine = packets.filter((p) => r.connection_id === null || p.connectionId === r.connection_id).map((p) => p.packet);
        if (mine.length === 0) return;
        try {
          const alive = await this.env.SOCKETIO.get(this.env.SOCKETIO.idFromName(r.sid)).deliver(mine);
          if (alive) sent += mine.length;
          else this.ctx.storage.sql.exec('DELETE FROM relays WHERE sid = ?', r.sid);
        } catch (e) {
          console.warn(JSON.stringify({ level: 'warn', msg: 'socket.io relay failed', error: e instanceof Error ? e.message : String(e) }));
        }
      }),
    );
    return sent;
  }

  /** What a client reconnecting with `since` is owed, in stream order, rendered by `render`. */
  private backlog(since: number | undefined, connectionId: string | null, render: (event: string, data: string, sequence: number) => string): string[] {
    const sql = this.ctx.storage.sql;
    const head = this.head;
    const { minAt } = pruneBounds(head, Date.now());
    const oldest = sql.exec<{ oldest: number | null }>('SELECT MIN(sequence) AS oldest FROM frames WHERE at >= ?', minAt).one().oldest ?? undefined;
    const plan = planReplay(since, head, oldest);
    if (plan.kind === 'none') return [];
    if (plan.kind === 'resync') return [render('resync', JSON.stringify(resyncData(plan.reason, plan.oldest)), head)];
    const rows = sql
      .exec<StoredFrame>(
        'SELECT sequence, connection_id, event, data FROM frames WHERE sequence > ? AND at >= ? AND (? IS NULL OR connection_id = ?) ORDER BY sequence',
        plan.after,
        minAt,
        connectionId,
        connectionId,
      )
      .toArray();
    return rows.map((r) => render(r.event, r.data, r.sequence));
  }

  // Native WebSocket clients -----------------------------------------------------------------------

  override getConnectionTags(_connection: Connection, ctx: ConnectionContext): string[] {
    const filter = ctx.request.headers.get(INTERNAL_HEADERS.filter);
    const credential = ctx.request.headers.get(INTERNAL_HEADERS.credential);
    return [filter ? tagOf(filter) : ALL, ...(credential ? [credentialTag(credential)] : [])];
  }

  override async onConnect(connection: Connection<StreamState>, ctx: ConnectionContext): Promise<void> {
    const expires = ctx.request.headers.get(INTERNAL_HEADERS.expiresAt);
    const expiresAt = expires ? Number(expires) : null;
    connection.setState({ credential: ctx.request.headers.get(INTERNAL_HEADERS.credential), expiresAt });
    const filter = ctx.request.headers.get(INTERNAL_HEADERS.filter) || null;
    const sinceHeader = ctx.request.headers.get(INTERNAL_HEADERS.since);
    const since = sinceHeader === null ? undefined : Number(sinceHeader);
    // Sent before the 101 goes out and before any later publish can run (the object is single-threaded
    // and SQLite is synchronous), so the backlog always precedes live frames, with no gap between them.
    for (const frame of this.backlog(since, filter, nativeFrame)) connection.send(frame);
    if (expiresAt !== null) await this.wakeAt(expiresAt);
  }

  override onMessage(): void {
    // Clients only listen; "ping" is answered by the runtime (setWebSocketAutoResponse).
  }

  // Socket.IO sessions -----------------------------------------------------------------------------

  /** A Socket.IO session joins the stream; returns its backlog (packets) when it asked with `since`. */
  async subscribe(sid: string, connectionId: string | null, since?: number, opened?: { credential: string; expiresAt: number | null }): Promise<string[]> {
    this.ctx.storage.sql.exec(
      'INSERT OR REPLACE INTO relays (sid, connection_id, credential, expires_at) VALUES (?, ?, ?, ?)',
      sid,
      connectionId,
      opened?.credential ?? null,
      opened?.expiresAt ?? null,
    );
    if (opened?.expiresAt != null) await this.wakeAt(opened.expiresAt);
    return this.backlog(since, connectionId, (event, data) => encodeEvent(event, data));
  }

  // Ending streams with their credential ------------------------------------------------------------

  /**
   * The credential is gone (a key revoked, a dashboard session logged out): every stream it opened ends
   * now, native ones with close code 4001, Socket.IO ones with a server disconnect. Answers how many.
   */
  async endCredential(credential: string, reason = 'credential revoked'): Promise<number> {
    let ended = 0;
    for (const ws of this.ctx.getWebSockets(credentialTag(credential))) {
      try {
        ws.close(CREDENTIAL_ENDED, reason);
        ended++;
      } catch {
        // closing already
      }
    }
    const relays = this.ctx.storage.sql.exec<{ sid: string }>('DELETE FROM relays WHERE credential = ? RETURNING sid', credential).toArray();
    await Promise.all(relays.map((r) => this.endRelay(r.sid, reason)));
    return ended + relays.length;
  }

  /** Streams whose key expired end at its expiry, woken by the alarm. */
  override async onAlarm(): Promise<void> {
    const now = Date.now();
    let next = Infinity;
    for (const connection of this.getConnections<StreamState>()) {
      const at = connection.state?.expiresAt;
      if (at == null) continue;
      if (at <= now) connection.close(CREDENTIAL_ENDED, 'credential expired');
      else next = Math.min(next, at);
    }
    const sql = this.ctx.storage.sql;
    const due = sql.exec<{ sid: string }>('DELETE FROM relays WHERE expires_at <= ? RETURNING sid', now).toArray();
    await Promise.all(due.map((r) => this.endRelay(r.sid, 'credential expired')));
    const later = sql.exec<{ at: number | null }>('SELECT MIN(expires_at) AS at FROM relays').one().at;
    if (later !== null) next = Math.min(next, later);
    if (next !== Infinity) await this.ctx.storage.setAlarm(next);
  }

  private async wakeAt(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || at < current) await this.ctx.storage.setAlarm(at);
  }

  private async endRelay(sid: string, reason: string): Promise<void> {
    try {
      await this.env.SOCKETIO.get(this.env.SOCKETIO.idFromName(sid)).end(reason);
    } catch (e) {
      console.warn(JSON.stringify({ level: 'warn', msg: 'socket.io session could not be ended', error: e instanceof Error ? e.message : String(e) }));
    }
  }

  async unsubscribe(sid: string): Promise<void> {
    this.ctx.storage.sql.exec('DELETE FROM relays WHERE sid = ?', sid);
  }

  // Tickets ----------------------------------------------------------------------------------------

  async issueTicket(ttlSeconds = MAX_TICKET_TTL_SECONDS, issuedTo?: { credential: string; expiresAt: number | null }): Promise<{ ticket: string; expiresAt: number }> {
    const now = Date.now();
    const ttl = Math.min(Math.max(1, Math.floor(ttlSeconds)), MAX_TICKET_TTL_SECONDS);
    const secret = newSessionToken();
    const expiresAt = now + ttl * 1000;
    this.ctx.storage.sql.exec('DELETE FROM tickets WHERE expires_at <= ?', now);
    this.ctx.storage.sql.exec(
      'INSERT INTO tickets (hash, expires_at, credential, credential_expires_at) VALUES (?, ?, ?, ?)',
      await sha256Hex(secret),
      expiresAt,
      issuedTo?.credential ?? null,
      issuedTo?.expiresAt ?? null,
    );
    return { ticket: `rtk_${this.name}.${secret}`, expiresAt };
  }

  /**
   * Once for a ticket this Hub issued that has not expired (it never works again): the credential that
   * asked for it, whose end the stream opened with it shares. Null otherwise.
   */
  async redeemTicket(ticket: string): Promise<{ credential: string; expiresAt: number | null } | null> {
    const m = TICKET_PATTERN.exec(ticket);
    if (!m || m[1] !== this.name) return null;
    const hash = await sha256Hex(m[2]!);
    const row = this.ctx.storage.sql
      .exec<{ expires_at: number; credential: string | null; credential_expires_at: number | null }>(
        'DELETE FROM tickets WHERE hash = ? RETURNING expires_at, credential, credential_expires_at',
        hash,
      )
      .toArray()[0];
    if (!row || row.expires_at <= Date.now()) return null;
    return { credential: row.credential ?? 'ticket', expiresAt: row.credential_expires_at };
  }
}
