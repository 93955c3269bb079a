// The authenticated /api operations of an OpenAPI document, for the passes that annotate them after the
// routes are registered (scopes: auth/scopes.ts; request limits: limits/openapi.ts). Public operations
// (`security: []`: login, the session probe) and other paths are not among them.
const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

export function* authenticatedOperations<Op extends { security?: unknown[] }>(doc: { paths?: object }): Generator<{ path: string; method: string; op: Op }> {
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Record<string, unknown>>)) {
    if (!path.startsWith('/api/')) continue;
    for (const [method, value] of Object.entries(item)) {
      if (!HTTP_METHODS.has(method)) continue;
      const op = value as Op;
      if (Array.isArray(op.security) && op.security.length === 0) continue;
      yield { path, method, op };
    }
  }
}
