import { it, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describeOnBackends } from '../routes.ts';
import { event, record } from './events.ts';
import { QueryError } from '../../src/analytics/query/errors.ts';
import { QueryRejected } from '../../src/analytics/query/reader.ts';
import { RowsLimitExceeded } from '../../src/analytics/query/service.ts';

const NOW = Date.UTC(2030, 0, 15, 12, 0);
const SECRET = 'zz_secret';

const TABLES = ['key_verifications_v1', 'key_verifications_per_minute_v1', 'key_verifications_per_hour_v1', 'key_verifications_per_day_v1', 'key_verifications_per_month_v1'];
const COLUMNS = ['time', 'workspace_id', 'key_space_id', 'identity_id', 'external_id', 'key_id', 'outcome', 'source', 'tags'];
const STRING_COLUMNS = ['workspace_id', 'key_space_id', 'identity_id', 'external_id', 'key_id', 'outcome'];

/** Queries built from the accepted grammar, with predicates that try every way to reach the other workspace. */
function queries(victimId: string): fc.Arbitrary<string> {
  const literal = fc.constantFrom(`'${victimId}'`, `'${SECRET}'`, "''", "'VALID'", `'ks_${SECRET}'`);
  const column = fc.constantFrom(...STRING_COLUMNS);
  const predicate: fc.Arbitrary<string> = fc.letrec<{ p: string }>((tie) => ({
    p: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.tuple(column, fc.constantFrom('=', '!=', '<', '>='), literal).map(([c, op, l]) => `${c} ${op} ${l}`),
      fc.tuple(column, literal, literal).map(([c, a, b]) => `${c} IN (${a}, ${b})`),
      fc.tuple(column).map(([c]) => `${c} LIKE '%'`),
      fc.constantFrom('1 = 1', 'TRUE', `has(tags, '${SECRET}')`, 'time > 0', 'time >= now() - INTERVAL 365 DAY'),
      fc.tuple(tie('p'), tie('p')).map(([a, b]) => `(${a} OR ${b})`),
      fc.tuple(tie('p'), tie('p')).map(([a, b]) => `(${a} AND ${b})`),
      tie('p').map((a) => `NOT (${a})`),
    ),
  })).p;
  const table = fc.constantFrom(...TABLES);
  const where = fc.option(predicate, { nil: undefined }).map((p) => (p ? ` WHERE ${p}` : ''));
  const select = fc.oneof(
    fc.constant('*'),
    fc.subarray(COLUMNS, { minLength: 1 }).map((cols) => cols.join(', ')),
    fc.constant('count() AS n, groupUniqArray(workspace_id) AS ws, groupArray(external_id) AS ext'),
  );
  const simple = fc.tuple(select, table, where).map(([s, t, w]) => `SELECT ${s} FROM ${t}${w}`);
  return fc.oneof(
    simple,
    fc.tuple(table, where, predicate).map(([t, w, p]) => `SELECT * FROM (SELECT * FROM ${t}${w}) AS sub WHERE ${p}`),
    fc.tuple(table, where, table).map(([t, w, t2]) => `WITH ${t2} AS (SELECT * FROM ${t}${w}) SELECT * FROM ${t2}`),
    fc.tuple(simple, simple).map(([a, b]) => `SELECT workspace_id, external_id FROM (${a}) AS a UNION ALL SELECT workspace_id, external_id FROM (${b}) AS b`),
    fc.tuple(table, table, predicate).map(([a, b, p]) => `SELECT x.workspace_id, y.external_id FROM ${a} x JOIN ${b} y ON x.key_id = y.key_id OR ${p.replaceAll('tags', 'y.tags').replace(/\b(workspace_id|key_space_id|identity_id|external_id|key_id|outcome)\b/g, 'y.$1').replace(/\btime\b/g, 'y.time')}`),
    fc.tuple(table, predicate, table).map(([a, p, b]) => `SELECT external_id, (SELECT groupArray(external_id) FROM ${b} WHERE ${p}) AS inner_ext FROM ${a}`),
    fc.tuple(table, predicate, table).map(([a, p, b]) => `SELECT * FROM ${a} WHERE external_id IN (SELECT external_id FROM ${b} WHERE ${p})`),
  );
}

await describeOnBackends(
  'analytics isolation (property)',
  (server) => {
    let caller: { workspaceId: string };
    let victim: { workspaceId: string };
    before(async () => {
      caller = await server().newWorkspace();
      victim = await server().newWorkspace();
      await record(server(), [
        ...Array.from({ length: 4 }, (_, i) => event(caller.workspaceId, { time: NOW - i * 3_600_000, externalId: `mine_${i}`, keyId: 'key_shared' })),
        ...Array.from({ length: 4 }, (_, i) =>
          event(victim.workspaceId, { time: NOW - i * 3_600_000, externalId: SECRET, keyId: 'key_shared', keySpaceId: `ks_${SECRET}`, identityId: `id_${SECRET}`, tags: [SECRET] }),
        ),
      ]);
    });

    it('generated queries never return another workspace\'s rows', async () => {
      const queriesService = server().app.services.analyticsQueries;
      let answered = 0;
      await fc.assert(
        fc.asyncProperty(queries(victim.workspaceId), async (text) => {
          let rows: Record<string, unknown>[];
          try {
            rows = await queriesService.run(text, { workspaceId: caller.workspaceId }, NOW);
          } catch (err) {
            // A refusal leaks nothing; any other failure is a bug.
            if (err instanceof QueryError || err instanceof QueryRejected || err instanceof RowsLimitExceeded) return;
            throw err;
          }
          answered++;
          const raw = JSON.stringify(rows);
          assert.ok(!raw.includes(victim.workspaceId), `${text}\n→ ${raw.slice(0, 300)}`);
          assert.ok(!raw.includes(SECRET), `${text}\n→ ${raw.slice(0, 300)}`);
        }),
        { numRuns: 300 },
      );
      // Most generated queries are valid: the property is about answers, not only refusals.
      assert.ok(answered > 200, `only ${answered} of 300 queries were answered`);
    });
  },
  { env: { LATCHKEY_ANALYTICS_FLUSH_MS: '600000' } },
);
