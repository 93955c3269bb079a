// Helpers for realtime tests: a WebSocket client of GET /api/realtime that records every frame, and
// ways to wait for the frame you expect (or to be sure one never came).
import WebSocket from 'ws';
import { baseUrl } from '../harness/api';

export interface Frame {
  event: string;
  data: any;
  sequence: number;
}

export interface Stream {
  frames: Frame[];
  /** Text frames that are not JSON (the "pong" keep-alive answer). */
  texts: string[];
  /** Resolves with the first frame (already received or to come) that matches. */
  next(match: (f: Frame) => boolean, what: string, timeoutMs?: number): Promise<Frame>;
  close(): Promise<void>;
  ws: WebSocket;
}

export const wsUrl = (path: string) => `${baseUrl().replace(/^http/, 'ws')}${path}`;

/** Opens the stream; rejects with the HTTP status and body when the upgrade is refused. */
export function openStream(path = '/api/realtime', headers: Record<string, string> = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(path), { headers });
    const frames: Frame[] = [];
    const texts: string[] = [];
    const waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
    ws.on('message', (raw) => {
      const text = raw.toString();
      if (!text.startsWith('{')) return texts.push(text); // "pong"
      const frame = JSON.parse(text) as Frame;
      frames.push(frame);
      for (const w of [...waiters]) {
        if (w.match(frame)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(frame);
        }
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body: body ? JSON.parse(body) : null })));
    });
    ws.on('error', (e) => reject(e));
    ws.on('open', () =>
      resolve({
        frames,
        texts,
        ws,
        next(match, what, timeoutMs = 30_000) {
          const found = frames.find(match);
          if (found) return Promise.resolve(found);
          return new Promise((res, rej) => {
            const timer = setTimeout(() => rej(new Error(`timed out waiting for ${what}; got ${JSON.stringify(frames.map((f) => [f.event, f.sequence, f.data.connectionId]))}`)), timeoutMs);
            waiters.push({ match, resolve: (f) => (clearTimeout(timer), res(f)) });
          });
        },
        close: () =>
          new Promise<void>((res) => {
            if (ws.readyState === WebSocket.CLOSED) return res();
            const timer = setTimeout(() => ws.terminate(), 2_000);
            ws.once('close', () => (clearTimeout(timer), res()));
            ws.close();
          }),
      }),
    );
  });
}

/** The refusal of an upgrade that should fail: its status and error body. */
export async function refused(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  try {
    const s = await openStream(path, headers);
    await s.close();
  } catch (e: any) {
    if (typeof e.status === 'number') return { status: e.status, body: e.body };
    throw e;
  }
  throw new Error(`expected ${path} to be refused, but it opened`);
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
