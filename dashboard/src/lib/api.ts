// The dashboard's one way to the API: same-origin fetches with the session cookie, the API's error body
// turned into an ApiError (its message is what toasts show), and a 401 reported once so the app can send
// the user back to the login page.
import type { ErrorBody } from '../../../protocol/errors';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | undefined | null>;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  query?: Query;
  /** A 401 here is an answer, not an expired session (the login form). */
  anonymous?: boolean;
}

let onUnauthorized: () => void = () => {};
/** Called when a request comes back 401: the session has expired or was logged out elsewhere. */
export function setUnauthorizedHandler(handler: () => void) {
  onUnauthorized = handler;
}

export function apiUrl(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return `/api${path}${qs ? `?${qs}` : ''}`;
}

async function send(path: string, opts: RequestOptions): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(apiUrl(path, opts.query), {
      method: opts.method ?? 'GET',
      credentials: 'same-origin',
      headers: opts.body === undefined ? undefined : { 'content-type': 'application/json' },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
  } catch {
    throw new ApiError(0, 'network_error', 'Could not reach the server. Check your connection and try again.');
  }
  if (res.ok) return res;
  const body = (await res.json().catch(() => null)) as ErrorBody | null;
  const error = new ApiError(res.status, body?.error?.code ?? 'http_error', body?.error?.message ?? `The server answered ${res.status}.`);
  if (res.status === 401 && !opts.anonymous) onUnauthorized();
  throw error;
}

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await send(path, opts);
  return (await res.json()) as T;
}

/** A list endpoint's page: its items and the cursor for the next (older) page, from X-Next-Cursor. */
export async function apiPage<T>(path: string, opts: RequestOptions = {}): Promise<{ items: T[]; next: string | null }> {
  const res = await send(path, opts);
  return { items: (await res.json()) as T[], next: res.headers.get('x-next-cursor') };
}

export const errorMessage = (e: unknown) => (e instanceof Error ? e.message : String(e));
