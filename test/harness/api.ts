// Helpers for end-to-end tests: an HTTP client for the public API and tenants created as an operator would.
import { inject } from 'vitest';
import { randomUUID } from 'node:crypto';
import { inArray } from 'drizzle-orm';
import { connections } from '../../drizzle/schema';
import { openDb, type NodeDb } from '../../scripts/lib/database';
import { createTenant, type NewTenant } from '../../scripts/lib/tenants';

export const baseUrl = () => inject('baseUrl');

let db: NodeDb | undefined;
/** Direct database access, for arranging state the public API cannot create yet and for checking storage. */
export function database(): NodeDb {
  db ??= openDb(inject('databaseUrl'));
  return db;
}

const tenantsCreated: string[] = [];

/** End of a test file: its tenants' connections go (so no runner keeps serving them), then the pool. */
export async function closeDatabase() {
  if (db && tenantsCreated.length) await db.delete(connections).where(inArray(connections.tenantId, tenantsCreated.splice(0)));
  await db?.$client.end();
  db = undefined;
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RequestOptions {
  key?: string;
  headers?: Record<string, string>;
  /** Sent as JSON unless it is already a string. */
  body?: unknown;
}

export async function call<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${baseUrl()}${path}`, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/** A client bound to one tenant's API key. */
export function client(key: string) {
  return {
    get: <T = any>(path: string, o: Omit<RequestOptions, 'key'> = {}) => call<T>('GET', path, { ...o, key }),
    post: <T = any>(path: string, body?: unknown, o: Omit<RequestOptions, 'key' | 'body'> = {}) =>
      call<T>('POST', path, { ...o, key, body }),
    patch: <T = any>(path: string, body?: unknown, o: Omit<RequestOptions, 'key' | 'body'> = {}) =>
      call<T>('PATCH', path, { ...o, key, body }),
    put: <T = any>(path: string, body?: unknown, o: Omit<RequestOptions, 'key' | 'body'> = {}) =>
      call<T>('PUT', path, { ...o, key, body }),
    delete: <T = any>(path: string, o: Omit<RequestOptions, 'key'> = {}) => call<T>('DELETE', path, { ...o, key }),
  };
}

export async function newTenant(label = 'tenant'): Promise<NewTenant & { api: ReturnType<typeof client> }> {
  const suffix = randomUUID().slice(0, 8);
  const tenant = await createTenant(database(), { name: `${label}-${suffix}`, email: `${label}-${suffix}@example.test` });
  tenantsCreated.push(tenant.tenantId);
  return { ...tenant, api: client(tenant.apiKey) };
}

export function expectError(res: ApiResponse, status: number, code: string) {
  if (res.status !== status || res.body?.error?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${JSON.stringify(res.body)}`);
  }
  if (typeof res.body.error.message !== 'string' || !res.body.error.message) {
    throw new Error(`error without a message: ${JSON.stringify(res.body)}`);
  }
}

export const uniqueId = (prefix = 'conn') => `${prefix}-${randomUUID().slice(0, 8)}`;

/** Polls `probe` until it returns something truthy; the error names `what` was awaited. */
export async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
