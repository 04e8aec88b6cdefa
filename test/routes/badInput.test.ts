import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sql } from 'kysely';
import { routes } from '../../src/routes/index.ts';
import type { Store } from '../../src/store/index.ts';
import { describeOnBackends } from '../routes.ts';
import { createValidator, ExampleBuilder } from '../schemaExample.ts';
import type { TestServer } from '../harness.ts';

/**
 * Property: whatever body arrives at whatever operation, the answer is never a 5xx. A body the operation's
 * schema rejects gets a 400 (or 413 when too large) in the contract's error shape, before authentication,
 * and any 4xx leaves every stored row as it was. Operations and tables are discovered, not listed, so
 * operations and migrations added later are covered without touching this file.
 */

// Small enough that the huge strings below cross it; the default limit is covered by the identities tests.
const BODY_LIMIT = 65_536;
const RUNS_PER_OPERATION = Number(process.env.LATCHKEY_FUZZ_RUNS ?? 60);

const validator = createValidator();
const examples = new ExampleBuilder(validator);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every row of every table, each table's rows as sorted JSON lines. */
async function snapshot(store: Store): Promise<Record<string, string[]>> {
  const tables =
    store.backend.kind === 'sqlite'
      ? await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(store.db)
      : await sql<{ name: string }>`select table_name as name from information_schema.tables
          where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(store.db);
  const out: Record<string, string[]> = {};
  for (const { name } of tables.rows.sort((a, b) => a.name.localeCompare(b.name))) {
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(store.db);
    out[name] = rows.rows.map((r) => JSON.stringify(r)).sort();
  }
  return out;
}

/** What the server sees once it has read the body, or undefined when the text is not JSON at all. */
function parsed(raw: string | Uint8Array): { value: unknown } | undefined {
  const text = typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
  try {
    return { value: JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) };
  } catch {
    return undefined;
  }
}

// ---- mutations of a valid body -------------------------------------------------------------------

type Path = (string | number)[];

function paths(value: Json, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...at, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...at, k]));
  return out;
}

function getAt(value: Json, path: Path): Json {
  return path.reduce<Json>((v, k) => (v as any)[k], value);
}

/** Returns a copy of `root` with the node at `path` replaced (or removed, for `undefined`). */
function setAt(root: Json, path: Path, replacement: Json | undefined): Json | undefined {
  if (path.length === 0) return replacement;
  const copy: Json = structuredClone(root);
  const parent = getAt(copy, path.slice(0, -1)) as any;
  const key = path[path.length - 1];
  if (replacement === undefined) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else parent[key] = replacement;
  return copy;
}

const anyJson = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>;
const wrongType: fc.Arbitrary<Json> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 1 }) as fc.Arbitrary<Json>, { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }) as fc.Arbitrary<Json>, { maxKeys: 3 }),
);
const oddNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(-1, 0, 0.5, 1.5, 999, 1001, 101, -(2 ** 31), 2 ** 31, 2 ** 53, 2 ** 63, -(2 ** 63), 1e21, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const hugeString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(129, 256, 257, 1025, 10_000, BODY_LIMIT + 1).map((n) => 'x'.repeat(n)),
  fc.string({ unit: 'binary', minLength: 200, maxLength: 3000 }),
);

type Mutation = (body: Json) => Json | undefined;
const pick = (body: Json, n: number, keep: (node: Json, path: Path) => boolean): Path | undefined => {
  const candidates = paths(body).filter((p) => keep(getAt(body, p), p));
  return candidates.length > 0 ? candidates[n % candidates.length] : undefined;
};
const isObject = (v: Json): v is { [key: string]: Json } => v !== null && typeof v === 'object' && !Array.isArray(v);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // a field (or the whole body) of the wrong type, or any JSON at all
  fc.tuple(fc.nat(), fc.oneof(wrongType, anyJson)).map(([n, value]): Mutation => (b) => {
    const at = pick(b, n, () => true);
    return at ? setAt(b, at, value) : b;
  }),
  // a required (or optional) field left out
  fc.nat().map((n): Mutation => (b) => {
    const at = pick(b, n, (_v, p) => p.length > 0);
    return at ? setAt(b, at, undefined) : b;
  }),
  // an unknown field
  fc.tuple(fc.nat(), fc.string({ maxLength: 12 }), anyJson).map(([n, key, value]): Mutation => (b) => {
    const at = pick(b, n, isObject);
    if (!at) return b;
    const target = structuredClone(getAt(b, at)) as Record<string, Json>;
    Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
    return setAt(b, at, target);
  }),
  // numbers out of range, fractional, huge
  fc.tuple(fc.nat(), oddNumber).map(([n, value]): Mutation => (b) => {
    const at = pick(b, n, (v) => typeof v === 'number');
    return at ? setAt(b, at, value) : b;
  }),
  // strings too long, or full of unusual characters
  fc.tuple(fc.nat(), hugeString).map(([n, value]): Mutation => (b) => {
    const at = pick(b, n, (v) => typeof v === 'string');
    return at ? setAt(b, at, value) : b;
  }),
  // arrays grown with copies of their own items (duplicates, too many)
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 60 })).map(([n, times]): Mutation => (b) => {
    const at = pick(b, n, (v) => Array.isArray(v) && v.length > 0);
    if (!at) return b;
    const list = getAt(b, at) as Json[];
    return setAt(b, at, [...list, ...Array.from({ length: times }, () => structuredClone(list[0]))]);
  }),
);

/** Edits of the JSON text itself: truncation, stray characters, numbers JSON.parse reads oddly. */
const textEdit: fc.Arbitrary<(text: string) => string> = fc.oneof(
  fc.nat().map((n) => (t: string) => t.slice(0, n % Math.max(t.length, 1))),
  fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 3 })).map(([n, s]) => (t: string) => {
    const i = n % (t.length + 1);
    return t.slice(0, i) + s + t.slice(i);
  }),
  fc.constantFrom('1e400', '-0', '00', '0x10', '1.', '.5', 'NaN', 'Infinity', '-1e400', '1E+2').map(
    (literal) => (t: string) => t.replace(/-?\d+(\.\d+)?([eE][+-]?\d+)?/, literal),
  ),
  fc.constant((t: string) => `\ufeff${t}`),
  fc.constant((t: string) => t.replace(/^\{/, '{"dup":1,"dup":2,')),
);

interface Attempt {
  raw: string | Uint8Array;
  auth: 'valid' | 'none' | 'unknown';
}

function attempts(example: Json): fc.Arbitrary<Attempt> {
  const text: fc.Arbitrary<string | Uint8Array> = fc.oneof(
    { weight: 6, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }).map((ms) => JSON.stringify(ms.reduce<Json | undefined>((b, m) => (b === undefined ? b : m(b)), example) ?? null)) },
    { weight: 2, arbitrary: fc.tuple(fc.array(mutation, { maxLength: 1 }), textEdit).map(([ms, edit]) => edit(JSON.stringify(ms.reduce<Json | undefined>((b, m) => (b === undefined ? b : m(b)), example) ?? null))) },
    { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  );
  return fc.record({
    raw: text,
    auth: fc.constantFrom<Attempt['auth']>('valid', 'valid', 'valid', 'none', 'unknown'),
  });
}

/** Creating operations first and deleting ones last, so that lookups in between find what was created. */
function order(operation: string): number {
  const action = operation.split('.')[1] ?? '';
  return action.startsWith('create') ? 0 : action.startsWith('delete') ? 2 : 1;
}
const operations = [...routes].sort((a, b) => order(a.operation) - order(b.operation));

await describeOnBackends(
  'bad input on every operation',
  (server) => {
    before(async () => {
      // Each operation's valid example is sent once, so that the `fuzz_target` resources exist.
      for (const route of operations) {
        const res = await server().call(route.operation, examples.example(route.body));
        assert.ok(res.status < 500, `${route.operation} example answered ${res.status}`);
      }
    });

    for (const route of operations) {
      describe(route.operation, () => {
        it('answers every bad body with a 4xx in the error shape and changes nothing', async () => {
          const s: TestServer = server();
          const store = s.app.services.store;
          const example = examples.example(route.body) as Json;
          const keys = { valid: s.rootKey, none: null, unknown: 'lk_root_not_a_real_key' } as const;

          await fc.assert(
            fc.asyncProperty(attempts(example), async ({ raw, auth }) => {
              await s.app.services.analytics.flush();
              const before = await snapshot(store);
              // call() fails on a 5xx, on a body that is not JSON, and on any answer outside the contract.
              const res = await s.call(route.operation, undefined, keys[auth], { raw });
              const body = parsed(raw);
              const schemaRejects = body === undefined || !examples.accepts(route.body, body.value);
              if (schemaRejects) {
                assert.ok(res.status === 400 || res.status === 413, `a body the schema rejects got ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
              }
              if (res.status >= 400) {
                assert.ok(res.status < 500);
                assert.equal(typeof res.body.error?.detail, 'string');
                assert.equal(res.body.error.status, res.status);
                if (res.status === 400 || res.status === 413) assert.ok(Array.isArray(res.body.error.errors));
                await s.app.services.analytics.flush();
                assert.deepEqual(await snapshot(store), before, `a ${res.status} answer changed stored data`);
              }
            }),
            { numRuns: RUNS_PER_OPERATION, endOnFailure: true },
          );
        });
      });
    }
  },
  { env: { LATCHKEY_BODY_LIMIT: String(BODY_LIMIT) } },
);
