// The session cookie and transport headers as a deployment serves them: on a real host name the cookie is
// `__Host-sb_session` (Secure even though the Worker sees plain http here, no Domain, Path=/), and answers
// carry HSTS, the dashboard files included; on localhost (npm run dev) it stays the plain, non-Secure cookie.
import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { baseUrl, closeDatabase, newTenant } from '../harness/api';

afterAll(closeDatabase);

/** A request to the local stack as if it came for `host` (as behind Cloudflare, which terminates TLS). */
function asHost(host: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const { port } = new URL(baseUrl());
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers: { host, ...(body ? { 'content-type': 'application/json' } : {}), ...headers } },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

describe('cookies and transport security', () => {
  it('on a real host: a __Host- cookie, Secure, and HSTS; only that cookie counts there', async () => {
    const t = await newTenant('cookies');
    const login = await asHost('switchboard.example', 'POST', '/api/auth/login', { email: t.email, password: t.password });
    expect(login.status).toBe(200);
    const [cookie] = login.headers['set-cookie']!;
    expect(cookie).toMatch(/^__Host-sb_session=[^;]+/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).not.toMatch(/Domain=/i);
    expect(login.headers['strict-transport-security']).toMatch(/max-age=\d{7,}/);

    const token = cookie!.split(';')[0]!.split('=')[1]!;
    const me = await asHost('switchboard.example', 'GET', '/api/auth/session', undefined, { cookie: `__Host-sb_session=${token}` });
    expect(JSON.parse(me.body).session).toMatchObject({ via: 'session', user: { email: t.email } });
    // The plain name (which any subdomain could set) is not taken on a real host.
    const plain = await asHost('switchboard.example', 'GET', '/api/auth/session', undefined, { cookie: `sb_session=${token}` });
    expect(JSON.parse(plain.body)).toEqual({ session: null });

    const logout = await asHost('switchboard.example', 'POST', '/api/auth/logout', undefined, { cookie: `__Host-sb_session=${token}`, origin: 'http://switchboard.example' });
    expect(logout.status).toBe(200);
    expect(logout.headers['set-cookie']![0]).toMatch(/^__Host-sb_session=;.*Secure/);
  });

  it('the dashboard files carry HSTS and their security headers', async () => {
    const page = await asHost('switchboard.example', 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<div id="root"></div>');
    expect(page.headers['strict-transport-security']).toMatch(/max-age=\d{7,}/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['x-frame-options']).toBe('DENY');
  });

  it('on localhost: the plain cookie, not Secure (browsers would drop it over http), and no HSTS from the Worker', async () => {
    const t = await newTenant('cookies-local');
    const login = await asHost(new URL(baseUrl()).host, 'POST', '/api/auth/login', { email: t.email, password: t.password });
    const [cookie] = login.headers['set-cookie']!;
    expect(cookie).toMatch(/^sb_session=[^;]+/);
    expect(cookie).not.toMatch(/Secure/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(login.headers['strict-transport-security']).toBeUndefined();
  });
});
