// Property-based fuzzing of every /api operation of the OpenAPI document (fast-check): whatever the path
// parameters, query and body, the answer is never a 5xx, and every error has the documented shape. The
// generators know each operation's documented parameter and property names (so hostile values reach the
// validators and what lies behind them, not only the router's 404), mixed with names nobody documented.
// The runs are seeded and printed on failure (`FUZZ_SEED=… npm test` replays one).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connections } from '../../drizzle/schema';
import { eq } from 'drizzle-orm';
import { call, closeDatabase, database, newTenant, uniqueId } from '../harness/api';
import { runnerToken } from '../harness/runner-tokens';

type Tenant = Awaited<ReturnType<typeof newTenant>>;

interface Operation {
  name: string;
  method: string;
  path: string;
  pathParams: string[];
  queryParams: string[];
  bodyProps: string[];
  hasBody: boolean;
}

const RUNS_PER_OPERATION = 30;
const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;

// Operations that start a WhatsApp session (each a Baileys socket on a runner) or end the fixture: their
// path parameters stay random, so they only ever meet a connection that does not exist.
const STARTS_OR_ENDS = /get-qr|pairing-code|\/restart|\/logout|^DELETE \/api\/connections\//;

/** Strings that have broken parsers elsewhere: huge, control characters, lone surrogates, encodings, numbers. */
const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '0', '-1', '1e309', 'NaN', 'null', 'true', '[]', '{}', '%', '%00', '%ff', '..', '../../etc/passwd', '\u0000', '\ud800'),
  fc.constantFrom('9'.repeat(400), 'A'.repeat(5000), '=', '==', '!!!!', 'eyJhIjoxfQ', '@g.us', '@s.whatsapp.net', '1@lid'),
  fc.base64String({ maxLength: 200 }),
  fc.integer().map(String),
  fc.double().map(String),
);

const jsonValue = fc.oneof(
  { depthSize: 'small' },
  hostileString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
);

function bodyFor(op: Operation): fc.Arbitrary<string | undefined> {
  const known = op.bodyProps.length ? fc.dictionary(fc.constantFrom(...op.bodyProps), jsonValue, { maxKeys: op.bodyProps.length }) : fc.constant({});
  const object = fc.tuple(known, fc.dictionary(fc.string({ maxLength: 12 }), jsonValue, { maxKeys: 2 })).map(([a, b]) => ({ ...b, ...a }));
  return fc.oneof(
    object.map((o) => JSON.stringify(o)),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    // Not JSON at all, truncated JSON, nothing.
    fc.string({ maxLength: 60 }),
    object.map((o) => JSON.stringify(o).slice(0, -1)),
    fc.constant(undefined),
  );
}

/** A URL carries UTF-8: a lone surrogate cannot be sent, so it goes as U+FFFD (what a browser would send). */
const wellFormed = (s: string) => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

function pathFor(op: Operation, connection: string): fc.Arbitrary<string> {
  const realConnection = !STARTS_OR_ENDS.test(op.name);
  const param = (name: string) =>
    name === 'connection_id' && realConnection ? fc.oneof(fc.constant(connection), hostileString) : hostileString;
  return fc.tuple(...op.pathParams.map(param)).map((values) => {
    let path = op.path;
    op.pathParams.forEach((name, i) => {
      path = path.replace(`{${name}}`, encodeURIComponent(wellFormed(values[i]!)) || '%20');
    });
    return path;
  });
}

/** Cursors shaped like ours (base64url of `ms.id`), so they get past the decoder to the database. */
const cursorLike = fc
  .tuple(
    fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.constantFrom(-8.64e15 - 1, 8.64e15 + 1, 0)),
    fc.oneof(fc.stringMatching(/^[0-9a-f-]{1,36}$/), fc.nat().map(String), fc.uuid()),
  )
  .map(([ms, id]) => Buffer.from(`${ms}.${id}`).toString('base64url'));

function queryFor(op: Operation): fc.Arbitrary<string> {
  const names = [...op.queryParams, 'before', 'limit', 'since'];
  return fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 8 })), fc.oneof(hostileString, cursorLike)), { maxLength: 4 })
    .map((pairs) => (pairs.length ? `?${new URLSearchParams(pairs).toString()}` : ''));
}

async function documentedOperations(): Promise<Operation[]> {
  const doc = (await call('GET', '/api/openapi.json')).body;
  const resolve = (schema: any): any => (schema?.$ref ? doc.components.schemas[schema.$ref.split('/').pop()] : schema);
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    if (!path.startsWith('/api/')) continue;
    for (const [method, op] of Object.entries<any>(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const params: any[] = op.parameters ?? [];
      const schema = resolve(op.requestBody?.content?.['application/json']?.schema);
      ops.push({
        name: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: params.filter((p) => p.in === 'query').map((p) => p.name),
        bodyProps: Object.keys(schema?.properties ?? {}),
        hasBody: Boolean(op.requestBody),
      });
    }
  }
  return ops;
}

let t: Tenant;
let connection: string;
let operations: Operation[];

beforeAll(async () => {
  t = await newTenant('fuzz');
  connection = uniqueId('fuzz');
  expect((await t.api.post('/api/connections', { connection_id: connection })).status).toBe(201);
  operations = await documentedOperations();
});

afterAll(closeDatabase);

describe('fuzzing every /api operation', () => {
  it('finds the operations in the OpenAPI document', () => {
    expect(operations.length).toBeGreaterThan(20);
    expect(operations.some((o) => o.name === 'GET /api/messages/{connection_id}/{chat_id}' && o.queryParams.includes('before'))).toBe(true);
  });

  // Operation names are only known once the stack answers: one test walks them, each property on its own.
  it(`answers no 5xx and only well-formed errors (seed ${seed})`, { timeout: 600_000 }, async () => {
    const failures: string[] = [];
    for (const op of operations) {
      if (op.name === 'POST /api/auth/logout') continue; // would end nothing but the key's own request; no input
      const request = fc.record({ path: pathFor(op, connection), query: queryFor(op), body: op.hasBody || op.method !== 'GET' ? bodyFor(op) : fc.constant(undefined) });
      const outcome = await fc.check(
        fc.asyncProperty(request, async ({ path, query, body }) => {
          const res = await call(op.method, `${path}${query}`, {
            key: t.apiKey,
            ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
          });
          const answer = `${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
          if (res.status >= 500) throw new Error(`a server error: ${answer}`);
          const error = (res.body as any)?.error;
          if (res.status >= 400 && (typeof error?.code !== 'string' || typeof error?.message !== 'string')) {
            throw new Error(`an error without { error: { code, message } }: ${answer}`);
          }
        }),
        { numRuns: RUNS_PER_OPERATION, seed, includeErrorInReport: true, interruptAfterTimeLimit: 30_000 },
      );
      if (outcome.failed) failures.push(`${op.name}: ${fc.defaultReportMessage(outcome)}`);
    }
    expect(failures, failures.join('\n\n')).toEqual([]);
  });
});

// The runner-facing routes are not in the OpenAPI document (they are no public contract), but they parse
// JSON from the network too: a runner's credential that leaked, or a runner with a bug, must get 4xx.
describe('fuzzing the runner-facing /internal routes, as a runner', () => {
  const RUNNER = 'fuzz-runner';
  const uuidLike = fc.oneof(fc.uuid(), hostileString, fc.constant('00000000-0000-4000-8000-000000000000'));
  const epoch = fc.oneof(fc.integer(), fc.constant(0), fc.maxSafeInteger(), hostileString);
  const event = fc.oneof(
    jsonValue,
    fc.record({ id: hostileString, at: hostileString, type: fc.constantFrom('message.upsert', 'message.status', 'connection.status', 'qr', 'nonsense') }, { requiredKeys: [] }),
  );
  const batch = fc.oneof(
    fc.record({ runner_id: fc.oneof(fc.constant(RUNNER), hostileString), leases: fc.array(fc.record({ connection_pk: uuidLike, epoch, events: fc.array(event, { maxLength: 3 }) }, { requiredKeys: [] }), { maxLength: 3 }) }, { requiredKeys: [] }),
    jsonValue,
  );
  const authWrite = fc.oneof(
    fc.record({ runner_id: fc.oneof(fc.constant(RUNNER), hostileString), epoch, kind: fc.constantFrom('snapshot', 'delta', 'x'), seq: epoch, data: fc.oneof(hostileString, jsonValue) }, { requiredKeys: [] }),
    jsonValue,
  );

  it(`answers no 5xx and only well-formed errors (seed ${seed})`, { timeout: 300_000 }, async () => {
    const token = await runnerToken(RUNNER);
    const [row] = await database().select({ pk: connections.id }).from(connections).where(eq(connections.connectionId, connection));
    const pk = fc.oneof(fc.constant(row!.pk), uuidLike);
    const statuses = new Set<number>();
    const asRunner = async (method: string, path: string, body?: string) => {
      const res = await call(method, path, { headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body });
      statuses.add(res.status);
      const answer = `${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
      if (res.status >= 500) throw new Error(`a server error: ${answer}`);
      if (res.status >= 400 && (typeof (res.body as any)?.error?.code !== 'string' || typeof (res.body as any)?.error?.message !== 'string')) {
        throw new Error(`an error without { error: { code, message } }: ${answer}`);
      }
    };
    const seg = (v: string) => encodeURIComponent(wellFormed(v)) || '%20';
    const properties: [string, fc.IAsyncProperty<any>][] = [
      ['POST /internal/events', fc.asyncProperty(fc.oneof(batch.map((b) => JSON.stringify(b)), fc.string({ maxLength: 40 })), (b) => asRunner('POST', '/internal/events', b))],
      ['POST /internal/sessions/:pk/auth', fc.asyncProperty(pk, fc.oneof(authWrite.map((w) => JSON.stringify(w)), fc.string({ maxLength: 40 })), (p, b) => asRunner('POST', `/internal/sessions/${seg(p)}/auth`, b))],
      ['GET /internal/sessions/:pk/auth', fc.asyncProperty(pk, epoch, (p, e) => asRunner('GET', `/internal/sessions/${seg(p)}/auth?epoch=${seg(String(e))}`))],
      ['DELETE /internal/sessions/:pk/auth', fc.asyncProperty(pk, epoch, (p, e) => asRunner('DELETE', `/internal/sessions/${seg(p)}/auth?epoch=${seg(String(e))}`))],
      ['GET /internal/media/:pk/:id', fc.asyncProperty(pk, hostileString, epoch, (p, id, e) => asRunner('GET', `/internal/media/${seg(p)}/${seg(id)}?epoch=${seg(String(e))}`))],
    ];
    const failures: string[] = [];
    for (const [name, property] of properties) {
      const outcome = await fc.check(property, { numRuns: RUNS_PER_OPERATION, seed, includeErrorInReport: true, interruptAfterTimeLimit: 30_000 });
      if (outcome.failed) failures.push(`${name}: ${fc.defaultReportMessage(outcome)}`);
    }
    expect(failures, failures.join('\n\n')).toEqual([]);
    // The credential was good: the inputs reached the routes' own checks, not only the token's.
    expect([...statuses].filter((s) => s !== 401).length, [...statuses].join(', ')).toBeGreaterThan(0);
  });
});

