import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { describeOnBackends } from '../routes.ts';
import { event, record } from './events.ts';

const NOW = Date.UTC(2030, 0, 15, 12, 0);
const VICTIM_MARK = 'victim_secret';

// 'invalid_input': refused by the body parser before the query is read (e.g. a NUL character).
type Expect = 'rows' | 'invalid_input' | 'invalid_analytics_query' | 'invalid_analytics_query_type' | 'invalid_analytics_table' | 'invalid_analytics_function';

/** Hostile queries: `{victim}` is replaced by the other workspace's id. Each is refused, or answers only the caller's rows. */
const ATTACKS: [string, Expect][] = [
  // stacked statements and comments
  ['SELECT * FROM key_verifications_v1; DROP TABLE analytics_events', 'invalid_analytics_query_type'],
  ['SELECT 1; SELECT * FROM root_keys', 'invalid_analytics_query_type'],
  ["SELECT * FROM key_verifications_v1 -- WHERE 1=0\nWHERE workspace_id = '{victim}'", 'rows'],
  ['SELECT * FROM key_verifications_v1 /* */ UNION ALL SELECT * FROM root_keys', 'invalid_analytics_table'],
  ["SELECT * FROM key_verifications_v1 /* unterminated", 'invalid_analytics_query'],
  ["SELECT * FROM key_verifications_v1 # WHERE\n WHERE 1 = 1", 'rows'],
  // filters that try to widen the workspace
  ["SELECT * FROM key_verifications_v1 WHERE workspace_id = '{victim}' OR 1 = 1", 'rows'],
  ["SELECT * FROM key_verifications_v1 WHERE workspace_id != '' OR TRUE", 'rows'],
  ["SELECT * FROM key_verifications_per_day_v1 WHERE workspace_id IN ('{victim}')", 'rows'],
  ["SELECT * FROM key_verifications_v1 UNION ALL SELECT * FROM key_verifications_v1 WHERE workspace_id = '{victim}'", 'rows'],
  ["SELECT (SELECT count() FROM key_verifications_per_day_v1 d WHERE d.workspace_id != t.workspace_id) AS others FROM key_verifications_v1 t", 'rows'],
  ["SELECT * FROM key_verifications_v1 WHERE outcome = 'VALID\\' OR 1=1 --'", 'rows'],
  ["SELECT * FROM key_verifications_v1 WHERE outcome = 'x'' OR ''1''=''1'", 'rows'],
  // UNION into other tables, catalogs and system tables
  ['SELECT request_id FROM key_verifications_v1 UNION SELECT hash FROM root_keys', 'invalid_analytics_table'],
  ['SELECT name FROM sqlite_master', 'invalid_analytics_table'],
  ['SELECT * FROM main.sqlite_master', 'invalid_analytics_table'],
  ['SELECT * FROM key_verifications_v1 WHERE request_id IN (SELECT name FROM sqlite_master)', 'invalid_analytics_table'],
  ['SELECT relname FROM pg_catalog.pg_class', 'invalid_analytics_table'],
  ['SELECT * FROM pg_class', 'invalid_analytics_table'],
  ['SELECT * FROM pg_user', 'invalid_analytics_table'],
  ['SELECT table_name FROM information_schema.tables', 'invalid_analytics_table'],
  ['SELECT * FROM system.tables', 'invalid_analytics_table'],
  ['SELECT * FROM default.key_verifications_v1', 'invalid_analytics_table'],
  ['SELECT * FROM analytics_events', 'invalid_analytics_table'],
  ['SELECT * FROM analytics_event_rows', 'invalid_analytics_table'],
  ['SELECT key_id FROM analytics_event_dims', 'invalid_analytics_table'],
  // The event rows alone are read when no dims column is named: still only the caller's.
  ["SELECT request_id, time, workspace_id, spent_credits FROM key_verifications_v1 WHERE workspace_id != ''", 'rows'],
  // The key PostgreSQL indexes raw events by is no column a query can name.
  ['SELECT count() FROM key_verifications_v1 WHERE workspace_key != 0', 'invalid_analytics_query'],
  ['SELECT * FROM analytics_per_day', 'invalid_analytics_table'],
  ['SELECT * FROM root_keys', 'invalid_analytics_table'],
  ['SELECT * FROM key_verifications_v1 t JOIN keys k ON 1 = 1', 'invalid_analytics_table'],
  ["SELECT 'a' || (SELECT name FROM sqlite_master LIMIT 1) AS x", 'invalid_analytics_table'],
  ['SELECT has(tags, (SELECT hash FROM root_keys LIMIT 1)) AS x FROM key_verifications_v1', 'invalid_analytics_table'],
  ['SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables) AS x', 'invalid_analytics_table'],
  // CTEs named like real tables
  ['WITH key_verifications_v1 AS (SELECT * FROM root_keys) SELECT * FROM key_verifications_v1', 'invalid_analytics_table'],
  ['WITH key_verifications_v1 AS (SELECT * FROM key_verifications_per_day_v1) SELECT * FROM key_verifications_v1', 'rows'],
  ['WITH root_keys AS (SELECT * FROM key_verifications_v1) SELECT * FROM root_keys', 'rows'],
  ['WITH x AS (SELECT 1 AS a) SELECT * FROM x, analytics_per_day', 'invalid_analytics_table'],
  ['WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r', 'invalid_analytics_query'],
  // quoted and mixed-case identifiers
  ['SELECT * FROM "analytics_events"', 'invalid_analytics_table'],
  ['SELECT * FROM `root_keys`', 'invalid_analytics_table'],
  ['SELECT * FROM KEY_VERIFICATIONS_V1', 'invalid_analytics_table'],
  ['SELECT * FROM Key_Verifications_V1', 'invalid_analytics_table'],
  ['SELECT * FROM "key_verifications_v1""; DROP TABLE analytics_events; --"', 'invalid_analytics_table'],
  ["SELECT * FROM \"key_verifications_v1\" WHERE \"workspace_id\" != ''", 'rows'],
  ['SELECT * FROM key_verificationѕ_v1', 'invalid_analytics_query'],
  ['SELECT ctid, xmin FROM key_verifications_v1', 'invalid_analytics_query'],
  ['SELECT rowid FROM key_verifications_v1', 'invalid_analytics_query'],
  ['SELECT t.* FROM key_verifications_v1 AS t', 'rows'],
  // functions outside the list
  ['SELECT pg_sleep(10)', 'invalid_analytics_function'],
  ['SELECT sleep(10)', 'invalid_analytics_function'],
  ['SELECT sqlite_version()', 'invalid_analytics_function'],
  ["SELECT current_setting('search_path')", 'invalid_analytics_function'],
  ["SELECT load_extension('/tmp/evil')", 'invalid_analytics_function'],
  ["SELECT pg_read_file('/etc/passwd')", 'invalid_analytics_function'],
  ["SELECT file('/etc/passwd')", 'invalid_analytics_function'],
  ["SELECT pg_catalog.lower('x')", 'invalid_analytics_function'],
  ["SELECT readfile('/etc/passwd')", 'invalid_analytics_function'],
  ['SELECT CAST(1 AS TEXT)', 'invalid_analytics_function'],
  ["SELECT * FROM url('http://example.com', CSV)", 'invalid_analytics_table'],
  ['SELECT * FROM numbers(10)', 'invalid_analytics_table'],
  ["SELECT * FROM pragma_table_info('root_keys')", 'invalid_analytics_table'],
  ["SELECT * FROM json_each('[1]')", 'invalid_analytics_table'],
  ["SELECT * FROM generate_series(1, 10)", 'invalid_analytics_table'],
  // statements that change or reach outside the database
  ["ATTACH DATABASE '/tmp/evil.db' AS evil", 'invalid_analytics_query_type'],
  ['PRAGMA table_info(root_keys)', 'invalid_analytics_query_type'],
  ["COPY analytics_events TO '/tmp/out.csv'", 'invalid_analytics_query_type'],
  ['INSERT INTO key_verifications_v1 VALUES (1)', 'invalid_analytics_query_type'],
  ["UPDATE key_verifications_v1 SET outcome = 'X'", 'invalid_analytics_query_type'],
  ['DELETE FROM analytics_events', 'invalid_analytics_query_type'],
  ['DROP TABLE key_verifications_v1', 'invalid_analytics_query_type'],
  ['CREATE TABLE evil AS SELECT 1', 'invalid_analytics_query_type'],
  ['SET statement_timeout = 0', 'invalid_analytics_query_type'],
  ['SELECT * INTO evil FROM key_verifications_v1', 'invalid_analytics_query_type'],
  ['VACUUM', 'invalid_analytics_query_type'],
  ['BEGIN; DELETE FROM analytics_events; COMMIT', 'invalid_analytics_query_type'],
  ['SELECT * FROM key_verifications_v1 SETTINGS max_execution_time = 1000', 'invalid_analytics_query'],
  ['SELECT * FROM key_verifications_v1 FORMAT JSON', 'invalid_analytics_query'],
  ['SELECT 1\u0000; DROP TABLE analytics_events', 'invalid_input'],
  // very long and deeply nested input
  [`SELECT ${'1 + '.repeat(9000)}1`, 'invalid_analytics_query'],
  [`SELECT ${'('.repeat(500)}1${')'.repeat(500)}`, 'invalid_analytics_query'],
  [`SELECT * FROM ${'(SELECT * FROM '.repeat(100)}key_verifications_v1${')'.repeat(100)}`, 'invalid_analytics_query'],
  [`SELECT ${'NOT '.repeat(300)}1`, 'invalid_analytics_query'],
  [`SELECT ${'-'.repeat(300)}1`, 'invalid_analytics_query'],
  [`SELECT count() AS n FROM key_verifications_v1 WHERE ${Array.from({ length: 40 }, (_, i) => `outcome != 'X${i}'`).join(' AND ')}`, 'rows'],
];

await describeOnBackends(
  'analytics query attacks',
  (server) => {
    let caller: { workspaceId: string; rootKey: string };
    let victim: { workspaceId: string; rootKey: string };
    let victimRows = 0;

    before(async () => {
      caller = await server().newWorkspace();
      victim = await server().newWorkspace();
      const mine = Array.from({ length: 5 }, (_, i) => event(caller.workspaceId, { time: NOW - i * 60_000, externalId: 'mine', tags: ['mine'] }));
      const theirs = Array.from({ length: 7 }, (_, i) =>
        event(victim.workspaceId, { time: NOW - i * 60_000, externalId: VICTIM_MARK, keyId: `key_${VICTIM_MARK}`, keySpaceId: `ks_${VICTIM_MARK}`, tags: [VICTIM_MARK] }),
      );
      await record(server(), [...mine, ...theirs]);
      victimRows = theirs.length;
    });

    it(`has at least 40 hostile queries`, () => {
      assert.ok(ATTACKS.length >= 40, `${ATTACKS.length} attacks`);
    });

    for (const [i, [template, expect]] of ATTACKS.entries()) {
      const label = template.length > 100 ? `${template.slice(0, 100)}... (${template.length} chars)` : template;
      it(`#${i + 1} ${expect === 'rows' ? 'answers only own rows' : expect}: ${label}`, async () => {
        const text = template.replaceAll('{victim}', victim.workspaceId);
        const res = await server().call('analytics.getVerifications', { query: text }, caller.rootKey);
        const raw = JSON.stringify(res.body);
        assert.ok(!raw.includes(victim.workspaceId) || res.status === 400, 'the answer names the other workspace');
        if (expect === 'rows') {
          assert.equal(res.status, 200, raw.slice(0, 500));
          assert.ok(!raw.includes(VICTIM_MARK), 'the answer holds the other workspace\'s rows');
          for (const row of res.body.data) {
            if ('workspace_id' in row) assert.equal(row.workspace_id, caller.workspaceId);
            if ('others' in row) assert.equal(row.others, 0);
          }
        } else {
          assert.equal(res.status, 400, raw.slice(0, 500));
          const type =
            expect === 'invalid_input'
              ? 'https://unkey.com/docs/errors/unkey/application/invalid_input'
              : `https://unkey.com/docs/errors/user/bad_request/${expect}`;
          assert.equal(res.body.error.type, type);
          assert.ok(!raw.includes(VICTIM_MARK));
        }
      });
    }

    describe('afterwards', () => {
      it('left every table and the other workspace\'s rows in place', async () => {
        const db = server().app.services.store.db;
        const raw = await sql<{ n: number }>`SELECT count(*) AS n FROM analytics_events WHERE workspace_id = ${victim.workspaceId}`.execute(db);
        assert.equal(Number(raw.rows[0].n), victimRows);
        const keys = await sql<{ n: number }>`SELECT count(*) AS n FROM root_keys`.execute(db);
        assert.ok(Number(keys.rows[0].n) >= 2);
        const day = await sql<{ n: number }>`SELECT sum(count) AS n FROM analytics_per_day WHERE workspace_id = ${victim.workspaceId}`.execute(db);
        assert.equal(Number(day.rows[0].n), victimRows);
      });
    });
  },
  { env: { LATCHKEY_ANALYTICS_FLUSH_MS: '600000', LATCHKEY_ANALYTICS_QUERY_QUOTA: '100000' } },
);
