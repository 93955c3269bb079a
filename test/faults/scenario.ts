// What every fault scenario does around its fault: link a connection as a user would (QR scanned by an
// emulated phone, a webhook subscribed), have a contact send a burst, and count through the API and the
// webhook sink what arrived. Each scenario ends with one row of the table in test-results/faults.md.
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RunnerProcess } from '../../scripts/lib/runner-process';
import type { FaultStack } from './stack';

export const eventually = async <T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 60_000, everyMs = 250): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
};

let numbers = 0;
const phoneNumber = () => `1556${String(process.pid).padStart(7, '0')}${String(++numbers).padStart(3, '0')}`;

export async function linkConnection(stack: FaultStack, id: string) {
  const number = phoneNumber();
  await stack.phone('POST', '/accounts', { phone: number, name: `Phone ${number}` });
  const created = await stack.api('POST', '/api/connections', { connection_id: id, webhook_url: `http://127.0.0.1:${stack.sink.port}/hook/${id}` });
  if (created.status !== 201) throw new Error(`create connection: ${created.status} ${JSON.stringify(created.body)}`);
  const qr = await eventually(async () => (await stack.api(`GET`, `/api/get-qr/${id}?wait=10`)).body?.qr_raw as string | undefined, 'a QR');
  await stack.phone('POST', `/accounts/${number}/scan`, { qr });
  await eventually(async () => (await stack.api('GET', `/api/connections/${id}`)).body.status === 'connected', 'connected');
  const contact = (await stack.phone<{ phone: string }>('POST', '/contacts', { name: 'Burst' })).phone;
  return { id, number, contact };
}

/** The runner whose sessions include an open one (runner_sessions{state="open"} on its /metrics). */
export async function holderOf(runners: RunnerProcess[]): Promise<RunnerProcess> {
  return eventually(async () => {
    for (const r of runners) {
      if (r.child.exitCode !== null || r.child.signalCode !== null) continue;
      const text = await (await fetch(`${r.httpUrl}/metrics`)).text();
      if (/^runner_sessions\{state="open"\} [1-9]/m.test(text)) return r;
    }
    return undefined;
  }, 'the runner holding the connection', 20_000);
}

/**
 * The contact sends `texts` to the account, `concurrency` at a time, in order of starting; `after(i)`
 * runs once the i-th (1-based) send was accepted by the emulator, and is awaited.
 */
export async function burst(stack: FaultStack, from: string, to: string, texts: string[], opts: { concurrency?: number; after?: (sent: number) => Promise<void> | void } = {}) {
  let next = 0;
  let sent = 0;
  const ids: string[] = [];
  const worker = async () => {
    while (next < texts.length) {
      const i = next++;
      const { ids: [id] } = await stack.phone<{ ids: string[] }>('POST', `/contacts/${from}/messages`, { to, text: texts[i] });
      ids[i] = id!;
      sent++;
      await opts.after?.(sent);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));
  return ids;
}

/** Every message of the chat, through the API (all pages). */
export async function listMessages(stack: FaultStack, connectionId: string, chatId: string): Promise<any[]> {
  const out: any[] = [];
  let next: string | null = `/api/messages/${connectionId}/${chatId}?limit=500`;
  while (next) {
    const res: { status: number; body: any[]; headers: Headers } = await stack.api<any[]>('GET', next);
    if (res.status !== 200) throw new Error(`list messages: ${res.status} ${JSON.stringify(res.body)}`);
    out.push(...res.body);
    next = /<([^>]+)>; rel="next"/.exec(res.headers.get('link') ?? '')?.[1] ?? null;
  }
  return out;
}

export type Row = { scenario: string; sent: number; stored: number; storedTwice: number; webhooks: number; lost: number; note?: string };

/** Counts what of `ids` the API stores and the webhook sink was sent. */
export async function count(stack: FaultStack, connectionId: string, chatId: string, ids: string[], scenario: string): Promise<Row> {
  const messages = (await listMessages(stack, connectionId, chatId)).filter((m) => m.direction === 'inbound');
  const byId = new Map<string, number>();
  for (const m of messages) byId.set(m.provider_message_id, (byId.get(m.provider_message_id) ?? 0) + 1);
  const hooks = stack.sink.received();
  const stored = ids.filter((id) => byId.has(id)).length;
  return {
    scenario,
    sent: ids.length,
    stored,
    storedTwice: [...byId.values()].filter((n) => n > 1).length,
    webhooks: ids.filter((id) => hooks.has(id)).length,
    lost: ids.length - stored,
  };
}

const TABLE = path.resolve(import.meta.dirname, '../../test-results/faults.md');

/** Appends the scenario's row to test-results/faults.md (and prints it). */
export function report(row: Row): void {
  mkdirSync(path.dirname(TABLE), { recursive: true });
  if (!existsSync(TABLE)) {
    writeFileSync(TABLE, '| scenario | sent | stored | stored twice | webhooks delivered | lost | note |\n|---|---|---|---|---|---|---|\n');
  }
  const line = `| ${row.scenario} | ${row.sent} | ${row.stored} | ${row.storedTwice} | ${row.webhooks} | ${row.lost} | ${row.note ?? ''} |\n`;
  appendFileSync(TABLE, line);
  process.stdout.write(`faults: ${line}`);
}

/**
 * Waits until every one of `ids` is stored and its webhook delivered, then reports the row (with `note`).
 * On a timeout the row is reported as it stands, marked FAILED, and the wait's error is thrown.
 */
export async function allArrived(stack: FaultStack, link: { id: string; contact: string }, ids: string[], scenario: string, note: string, timeoutMs = 240_000): Promise<Row> {
  try {
    const row = await eventually(
      async () => {
        const r = await count(stack, link.id, link.contact, ids, scenario);
        return r.stored === ids.length && r.webhooks === ids.length ? r : undefined;
      },
      'every message stored and its webhook delivered',
      timeoutMs,
      1000,
    );
    report({ ...row, note });
    return row;
  } catch (e) {
    const row = await count(stack, link.id, link.contact, ids, scenario).catch(() => ({ scenario, sent: ids.length, stored: -1, storedTwice: -1, webhooks: -1, lost: -1 }));
    report({ ...row, note: `FAILED: ${String(e)}` });
    throw e;
  }
}
