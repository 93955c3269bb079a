// The scope table read as requests see it, and the OpenAPI annotation drawn from it.
import { describe, expect, it } from 'vitest';
import { allows, requiredScope, scopesNeeded, withDeclaredScopes } from './scopes';

describe('requiredScope', () => {
  it('names the scope of a concrete request path, parameters filled in', () => {
    expect(requiredScope('GET', '/api/connections')).toBe('read');
    expect(requiredScope('GET', '/api/connections/shop-1')).toBe('read');
    expect(requiredScope('HEAD', '/api/connections/shop-1')).toBe('read');
    expect(requiredScope('DELETE', '/api/connections/shop-1')).toBe('manage');
    expect(requiredScope('PATCH', '/api/connections/shop-1/webhook')).toBe('manage');
    expect(requiredScope('POST', '/api/send-message')).toBe('send');
    expect(requiredScope('GET', '/api/messages/shop-1/923001234567@s.whatsapp.net')).toBe('read');
    expect(requiredScope('GET', '/api/realtime')).toBe('read');
    expect(requiredScope('GET', '/api/auth/me')).toBe('any');
  });

  it('is `manage` for the GETs that act or reveal credentials: the QR and the key list', () => {
    expect(requiredScope('GET', '/api/get-qr/shop-1')).toBe('manage');
    expect(requiredScope('GET', '/api/keys')).toBe('manage');
  });

  it('knows nothing of paths the table does not name, nor of extra segments', () => {
    expect(requiredScope('GET', '/api/nothing-here')).toBeUndefined();
    expect(requiredScope('GET', '/api/connections/a/b')).toBeUndefined();
    expect(requiredScope('PUT', '/api/connections')).toBeUndefined();
  });
});

describe('allows', () => {
  it('holds scopes independent of each other: manage implies neither read nor send', () => {
    expect(allows(['manage'], 'manage')).toBe(true);
    expect(allows(['manage'], 'read')).toBe(false);
    expect(allows(['manage'], 'send')).toBe(false);
    expect(allows([], 'any')).toBe(true);
  });

  it('lets an undeclared route through only for a credential with every scope', () => {
    expect(scopesNeeded(undefined)).toEqual(['read', 'send', 'manage']);
    expect(allows(['read', 'send', 'manage'], undefined)).toBe(true);
    expect(allows(['read', 'send'], undefined)).toBe(false);
  });
});

describe('withDeclaredScopes', () => {
  it('annotates each declared /api operation, adds its 403, and leaves public and undeclared ones alone', () => {
    const doc = withDeclaredScopes({
      paths: {
        '/api/send-message': { post: { responses: { 200: {} } } },
        '/api/auth/me': { get: { responses: { 200: {} } } },
        '/api/auth/login': { post: { security: [], responses: {} } },
        '/api/new-thing': { get: { responses: {} } },
      },
    });
    const paths = doc.paths as Record<string, Record<string, any>>;
    expect(paths['/api/send-message']!.post).toMatchObject({
      'x-required-scope': 'send',
      security: [{ bearerAuth: ['send'] }, { apiKeyHeader: ['send'] }, { sessionCookie: [] }],
      responses: { 403: { description: expect.stringContaining('`send`') } },
    });
    expect(paths['/api/auth/me']!.get['x-required-scope']).toBe('any');
    expect(paths['/api/auth/me']!.get.responses[403]).toBeUndefined();
    expect(paths['/api/auth/login']!.post).toEqual({ security: [], responses: {} });
    expect(paths['/api/new-thing']!.get['x-required-scope']).toBeUndefined();
  });
});
