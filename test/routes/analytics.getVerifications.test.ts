import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describeOnBackends } from '../routes.ts';
import { manualClock } from '../keyHelpers.ts';
import { event, query, record } from '../analytics/events.ts';
import type { TestServer } from '../harness.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2030, 0, 15, 12, 30);
const clock = manualClock(NOW);

/** The example queries of the contract, in the order it lists them. */
function contractExamples(): string[] {
  const doc = readFileSync(new URL('../../../shared/contract/analytics.md', import.meta.url), 'utf8');
  const block = /```sql\n([\s\S]*?)```/.exec(doc)![1];
  return block.split(';').map((q) => q.trim()).filter((q) => q.length > 0);
}

const byKey = (key: string) => (a: any, b: any) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0);

/** What each example must answer over the events `seed` records, in contract order. */
const EXPECTED: ((rows: any[]) => void)[] = [
  (rows) => assert.deepEqual(rows, [{ total: 5 }]),
  (rows) => {
    assert.deepEqual(rows[0], { outcome: 'VALID', n: 5 });
    assert.deepEqual(rows.slice(1).sort(byKey('outcome')), [
      { outcome: 'RATE_LIMITED', n: 1 },
      { outcome: 'USAGE_EXCEEDED', n: 1 },
    ]);
  },
  (rows) =>
    assert.deepEqual(rows, [
      { external_id: 'user_123', total: 4, ok: 3, limited: 1 },
      { external_id: 'user_456', total: 2, ok: 2, limited: 0 },
    ]),
  (rows) =>
    assert.deepEqual(rows, [
      { hour: '2030-01-15 00:00:00', outcome: 'VALID', n: 1 },
      { hour: '2030-01-15 11:00:00', outcome: 'RATE_LIMITED', n: 1 },
      { hour: '2030-01-15 11:00:00', outcome: 'VALID', n: 1 },
      { hour: '2030-01-15 12:00:00', outcome: 'USAGE_EXCEEDED', n: 1 },
    ]),
  (rows) =>
    assert.deepEqual(rows.sort(byKey('key_id')), [
      { key_id: 'key_1', ok: 3, total: 4 },
      { key_id: 'key_2', ok: 2, total: 2 },
    ]),
  (rows) =>
    assert.deepEqual(rows, [
      { h: '2030-01-15 00:00:00', n: 1 },
      { h: '2030-01-15 11:00:00', n: 2 },
      { h: '2030-01-15 12:00:00', n: 1 },
    ]),
  (rows) => assert.deepEqual(rows, [{ credits: 5 }]),
];

/** A month of verifications in one workspace, and the same identities busy in another workspace. */
async function seed(server: TestServer, workspaceId: string, otherWorkspaceId: string): Promise<void> {
  const search = ['path=/v1/search'];
  const u123 = { identityId: 'id_123', externalId: 'user_123' };
  const u456 = { identityId: 'id_456', externalId: 'user_456' };
  await record(server, [
    event(workspaceId, { time: NOW - HOUR, keySpaceId: 'ks_a', keyId: 'key_1', ...u123, tags: search, spentCredits: 2 }),
    event(workspaceId, { time: NOW - HOUR - 15 * 60_000, keySpaceId: 'ks_a', keyId: 'key_1', ...u123, outcome: 'RATE_LIMITED', tags: search }),
    event(workspaceId, { time: NOW - 3 * DAY, keySpaceId: 'ks_b', keyId: 'key_2', ...u456, spentCredits: 1 }),
    event(workspaceId, { time: NOW - 10 * DAY, keySpaceId: 'ks_b', keyId: 'key_2', ...u456, tags: ['path=/v1/other'] }),
    event(workspaceId, { time: NOW - 20 * DAY, keySpaceId: 'ks_a', keyId: 'key_1', ...u123, spentCredits: 5 }),
    event(workspaceId, { time: NOW - 35 * DAY, keySpaceId: 'ks_a', keyId: 'key_1', ...u123, tags: search }),
    event(workspaceId, { time: NOW - 40 * DAY, keySpaceId: 'ks_c', keyId: 'key_3' }),
    event(workspaceId, { time: NOW - 30 * 60_000, keySpaceId: 'ks_c', keyId: 'key_3', outcome: 'USAGE_EXCEEDED', tags: search }),
    event(workspaceId, { time: Date.UTC(2030, 0, 15, 0, 10), keySpaceId: 'ks_a', keyId: 'key_1', ...u123, tags: search, spentCredits: 3 }),
    ...Array.from({ length: 20 }, () =>
      event(otherWorkspaceId, { time: NOW - HOUR, keySpaceId: 'ks_a', keyId: 'key_1', ...u123, tags: search, spentCredits: 100 }),
    ),
  ]);
}

await describeOnBackends(
  'analytics.getVerifications',
  (server) => {
    let ws: { workspaceId: string; rootKey: string };
    before(async () => {
      ws = await server().newWorkspace();
      const other = await server().newWorkspace();
      await seed(server(), ws.workspaceId, other.workspaceId);
    });

    describe('200', () => {
      it('answers every example query of the contract with the right numbers', async () => {
        const examples = contractExamples();
        assert.equal(examples.length, EXPECTED.length);
        for (const [i, sql] of examples.entries()) {
          const rows = await query(server(), sql, ws.rootKey);
          EXPECTED[i](rows);
        }
      });

      it('reads only the last 30 days of a table when the query has no time filter', async () => {
        assert.deepEqual(await query(server(), 'SELECT count() AS n FROM key_verifications_v1', ws.rootKey), [{ n: 7 }]);
        assert.deepEqual(
          await query(server(), 'SELECT count() AS n FROM key_verifications_v1 WHERE time > 0', ws.rootKey),
          [{ n: 9 }],
        );
      });

      it('limits an API-scoped root key to the keyspaces of its APIs', async () => {
        const scoped = await server().newWorkspace();
        const api = (await server().call('apis.createApi', { name: 'scoped-api' }, scoped.rootKey)).body.data.apiId;
        const otherApi = (await server().call('apis.createApi', { name: 'other-api' }, scoped.rootKey)).body.data.apiId;
        const ks = (await server().app.services.store.apis.get(scoped.workspaceId, api))!.keyspaceId;
        const otherKs = (await server().app.services.store.apis.get(scoped.workspaceId, otherApi))!.keyspaceId;
        await record(server(), [
          event(scoped.workspaceId, { time: NOW, keySpaceId: ks }),
          event(scoped.workspaceId, { time: NOW, keySpaceId: ks }),
          event(scoped.workspaceId, { time: NOW, keySpaceId: otherKs }),
        ]);
        const key = await server().newRootKey([`api.${api}.read_analytics`], scoped.workspaceId);
        const rows = await query(server(), 'SELECT key_space_id, count() AS n FROM key_verifications_v1 GROUP BY key_space_id', key);
        assert.deepEqual(rows, [{ key_space_id: ks, n: 2 }]);
        const day = await query(server(), 'SELECT sum(count) AS n FROM key_verifications_per_day_v1', key);
        assert.deepEqual(day, [{ n: 2 }]);
        const wildcard = await server().newRootKey(['api.*.read_analytics'], scoped.workspaceId);
        assert.deepEqual(await query(server(), 'SELECT count() AS n FROM key_verifications_v1', wildcard), [{ n: 3 }]);
      });

      it('supports CTEs, UNION, window functions and the array and date functions', async () => {
        const rows = await query(
          server(),
          `WITH daily AS (SELECT toDate(fromUnixTimestamp64Milli(time)) AS d, count() AS n FROM key_verifications_v1 WHERE time >= toUnixTimestamp64Milli(now() - INTERVAL 30 DAY) GROUP BY d)
           SELECT d, n, sum(n) OVER (ORDER BY d ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running FROM daily ORDER BY d`,
          ws.rootKey,
        );
        assert.deepEqual(rows, [
          { d: '2029-12-26', n: 1, running: 1 },
          { d: '2030-01-05', n: 1, running: 2 },
          { d: '2030-01-12', n: 1, running: 3 },
          { d: '2030-01-15', n: 4, running: 7 },
        ]);
        const union = await query(
          server(),
          "SELECT 'raw' AS src, count() AS n FROM key_verifications_v1 WHERE time > 0 UNION ALL SELECT 'day', sum(count) FROM key_verifications_per_day_v1 WHERE time > 0 ORDER BY src",
          ws.rootKey,
        );
        assert.deepEqual(union, [{ src: 'day', n: 9 }, { src: 'raw', n: 9 }]);
        const viaCte = await query(
          server(),
          "WITH limited AS (SELECT key_id FROM key_verifications_v1 WHERE outcome = 'RATE_LIMITED' AND time > 0) SELECT key_id, sum(count) AS n FROM key_verifications_per_day_v1 WHERE key_id IN (SELECT key_id FROM limited) AND EXISTS (SELECT 1 FROM limited) AND time > 0 GROUP BY key_id",
          ws.rootKey,
        );
        assert.deepEqual(viaCte, [{ key_id: 'key_1', n: 5 }]);
        const misc = await query(
          server(),
          "SELECT groupUniqArray(outcome) AS outcomes, uniq(key_id) AS keys, round(avg(spent_credits), 2) AS avg_credits, hasAny(['a','b'], ['b']) AS any_b, hasAll(['a','b'], ['a','c']) AS all_ac, length(arrayFilter(x -> startsWith(x, 'path='), ['path=/a', 'x'])) AS filtered, upper(concat('a', 'b')) AS ab, formatDateTime(toStartOfMonth(now()), '%Y-%m-%d %H:%i:%S') AS month_start FROM key_verifications_v1 WHERE time > 0",
          ws.rootKey,
        );
        assert.deepEqual({ ...misc[0], outcomes: [...misc[0].outcomes].sort() }, {
          outcomes: ['RATE_LIMITED', 'USAGE_EXCEEDED', 'VALID'],
          keys: 3,
          avg_credits: 1.22,
          any_b: 1,
          all_ac: 0,
          filtered: 1,
          ab: 'AB',
          month_start: '2030-01-01 00:00:00',
        });
      });
    });

    describe('400', () => {
      const cases: [string, string][] = [
        ['SELEC count() FROM key_verifications_v1', 'invalid_analytics_query'],
        ['DELETE FROM key_verifications_v1', 'invalid_analytics_query_type'],
        ['SELECT * FROM system.tables', 'invalid_analytics_table'],
        ['SELECT sleep(3) FROM key_verifications_v1', 'invalid_analytics_function'],
      ];
      for (const [sql, type] of cases) {
        it(`answers ${type} for: ${sql}`, async () => {
          const res = await server().call('analytics.getVerifications', { query: sql }, ws.rootKey);
          assert.equal(res.status, 400);
          assert.equal(res.body.error.type, `https://unkey.com/docs/errors/user/bad_request/${type}`);
          assert.equal(res.body.error.errors[0].location, 'body.query');
        });
      }
      it('needs a query', async () => {
        const res = await server().call('analytics.getVerifications', {}, ws.rootKey);
        assert.equal(res.status, 400);
        assert.equal(res.body.error.errors[0].location, 'body.query');
      });
    });

    describe('401', () => {
      it('rejects an unknown root key', async () => {
        const res = await server().call('analytics.getVerifications', { query: 'SELECT 1' }, 'lk_unknown');
        assert.equal(res.status, 401);
      });
    });

    describe('403', () => {
      it('needs read_analytics', async () => {
        const key = await server().newRootKey(['api.*.read_api'], ws.workspaceId);
        const res = await server().call('analytics.getVerifications', { query: 'SELECT 1' }, key);
        assert.equal(res.status, 403);
        assert.equal(res.body.error.detail, "Missing permission: 'api.*.read_analytics'");
      });
    });

    describe('422', () => {
      it('refuses a result larger than the row limit', async () => {
        const many = await server().newWorkspace();
        await record(server(), Array.from({ length: 60 }, () => event(many.workspaceId, { time: NOW })));
        const res = await server().call('analytics.getVerifications', { query: 'SELECT request_id FROM key_verifications_v1' }, many.rootKey);
        assert.equal(res.status, 422);
        assert.equal(res.body.error.type, 'https://unkey.com/docs/errors/user/unprocessable_entity/query_rows_limit_exceeded');
        const limited = await query(server(), 'SELECT request_id FROM key_verifications_v1 LIMIT 50', many.rootKey);
        assert.equal(limited.length, 50);
      });
    });
  },
  { clock: clock.now, env: { LATCHKEY_ANALYTICS_QUERY_MAX_ROWS: '50', LATCHKEY_ANALYTICS_FLUSH_MS: '600000' } },
);

await describeOnBackends(
  'analytics.getVerifications limits',
  (server) => {
    describe('422', () => {
      it('stops a query that runs past the time limit', async () => {
        const ws = await server().newWorkspace();
        await record(server(), Array.from({ length: 80 }, () => event(ws.workspaceId, { time: NOW })));
        const res = await server().call(
          'analytics.getVerifications',
          { query: 'SELECT count() AS n FROM key_verifications_v1 a, key_verifications_v1 b, key_verifications_v1 c, key_verifications_v1 d' },
          ws.rootKey,
        );
        assert.equal(res.status, 422);
        assert.equal(res.body.error.type, 'https://unkey.com/docs/errors/user/unprocessable_entity/query_execution_timeout');
        // The next query runs normally.
        assert.deepEqual(await query(server(), 'SELECT count() AS n FROM key_verifications_v1', ws.rootKey), [{ n: 80 }]);
      });
    });

    describe('429', () => {
      it('refuses queries beyond the hourly quota of the workspace', async () => {
        const ws = await server().newWorkspace();
        for (let i = 0; i < 3; i++) await query(server(), 'SELECT 1 AS one', ws.rootKey);
        const res = await server().call('analytics.getVerifications', { query: 'SELECT 1 AS one' }, ws.rootKey);
        assert.equal(res.status, 429);
        assert.equal(res.body.error.type, 'https://unkey.com/docs/errors/user/too_many_requests/query_quota_exceeded');
        const other = await server().newWorkspace();
        assert.deepEqual(await query(server(), 'SELECT 1 AS one', other.rootKey), [{ one: 1 }]);
        clock.advance(2 * HOUR);
        try {
          assert.deepEqual(await query(server(), 'SELECT 1 AS one', ws.rootKey), [{ one: 1 }]);
        } finally {
          clock.set(NOW);
        }
      });
    });
  },
  { clock: clock.now, env: { LATCHKEY_ANALYTICS_QUERY_TIMEOUT_MS: '250', LATCHKEY_ANALYTICS_QUERY_QUOTA: '3', LATCHKEY_ANALYTICS_FLUSH_MS: '600000' } },
);
