import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseQuery } from '../../src/analytics/query/parser.ts';
import { translate, type Access, type Dialect } from '../../src/analytics/query/translate.ts';
import { workspaceKey } from '../../src/core/workspaceKey.ts';

function sqlOf(query: string, dialect: Dialect, access: Access = { workspaceId: 'ws_1' }): string {
  return translate(parseQuery(query), { dialect, access, now: Date.UTC(2030, 0, 1), defaultWindowDays: 30, maxRows: 100 }).sql;
}

/**
 * The stored table a base table reads, from the SQL: `FROM <table> WHERE workspace_id = <first parameter>`,
 * on PostgreSQL's raw events after the workspace's key.
 */
function tablesRead(sql: string): string[] {
  // PostgreSQL's event rows read alone are unpacked in place: `FROM (select ... from analytics_event_packs) AS analytics_event_rows`.
  const from = /FROM (?:\(select [^()]*(?:\([^()]*\)[^()]*)* from analytics_event_packs\) AS )?(\w+) WHERE (?:workspace_key = -?\d+ AND )?workspace_id = (?:@p1|CAST\(\$1 AS TEXT\))/g;
  return [...sql.matchAll(from)].map((m) => m[1]);
}

/** Which stored table a raw-event query reads: the event rows alone unless it needs their dims. */
describe('raw event tables read by a query', () => {
  const cases: [string, string][] = [
    ['SELECT count() FROM key_verifications_v1', 'analytics_event_rows'],
    ['SELECT count() AS n, sum(spent_credits) FROM key_verifications_v1 WHERE time > 0', 'analytics_event_rows'],
    ['SELECT request_id, latency, source FROM key_verifications_v1 ORDER BY time DESC LIMIT 5', 'analytics_event_rows'],
    ['SELECT outcome, count() FROM key_verifications_v1 GROUP BY outcome', 'analytics_events'],
    ['SELECT * FROM key_verifications_v1 LIMIT 1', 'analytics_events'],
    ["SELECT count() FROM key_verifications_v1 WHERE has(tags, 'a')", 'analytics_events'],
    ['SELECT count() FROM (SELECT * FROM key_verifications_v1)', 'analytics_events'],
  ];
  for (const dialect of ['sqlite', 'postgres'] as const) {
    it(`${dialect}: reads the event rows alone when the query uses no dims column, the joined view otherwise`, () => {
      for (const [query, table] of cases) assert.deepEqual(tablesRead(sqlOf(query, dialect)), [table], query);
    });

    it(`${dialect}: a root key limited to some APIs always reads the view, where the keyspace is`, () => {
      const sql = sqlOf('SELECT count() FROM key_verifications_v1', dialect, { workspaceId: 'ws_1', keySpaceIds: ['ks_1'] });
      assert.deepEqual(tablesRead(sql), ['analytics_events']);
      assert.match(sql, /AND key_space_id IN \(/);
    });
  }

  it("selects PostgreSQL's raw events by the workspace's key as well as its id; rollups and SQLite by the id", () => {
    const key = workspaceKey('ws_1');
    for (const query of ['SELECT count() FROM key_verifications_v1', 'SELECT outcome, count() FROM key_verifications_v1 GROUP BY outcome']) {
      assert.ok(sqlOf(query, 'postgres').includes(`WHERE workspace_key = ${key} AND workspace_id = CAST($1 AS TEXT)`), query);
      assert.ok(!sqlOf(query, 'sqlite').includes('workspace_key'), query);
    }
    const limited = sqlOf('SELECT count() FROM key_verifications_v1', 'postgres', { workspaceId: 'ws_1', keySpaceIds: ['ks_1'] });
    assert.ok(limited.includes(`FROM analytics_events WHERE workspace_key = ${key} AND workspace_id = CAST($1 AS TEXT) AND key_space_id IN (`));
    assert.ok(!sqlOf('SELECT count() FROM key_verifications_per_day_v1', 'postgres').includes('workspace_key'));
  });

  it('lists only the columns a query reads, and one when it reads none', () => {
    const packs = (arrays: string) =>
      `FROM (select workspace_key, workspace_id, first_time as pack_first_time, last_time as pack_last_time, ${arrays} from analytics_event_packs) AS analytics_event_rows WHERE`;
    // On PostgreSQL only the arrays of the columns read are unpacked, times always.
    assert.ok(sqlOf('SELECT count() FROM key_verifications_v1', 'postgres').includes(`(SELECT time ${packs('unnest(times) as time')}`));
    assert.ok(
      sqlOf('SELECT sum(spent_credits), max(latency) FROM key_verifications_v1', 'postgres').includes(
        `(SELECT spent_credits, latency ${packs('unnest(times) as time, unnest(spent_credits) as spent_credits, unnest(latencies) as latency')}`,
      ),
    );
    assert.match(sqlOf('SELECT count() FROM key_verifications_v1', 'sqlite'), /\(SELECT time FROM analytics_event_rows WHERE/);
    assert.match(sqlOf('SELECT key_id FROM key_verifications_v1', 'postgres'), /\(SELECT key_id FROM analytics_events WHERE/);
    assert.match(sqlOf('SELECT count() FROM key_verifications_per_day_v1', 'sqlite'), /\(SELECT time FROM analytics_per_day WHERE/);
  });
});

/**
 * PostgreSQL's raw events are read pack by pack: the packs a query reads are bounded by the time
 * conditions every row it returns must meet, and by nothing else.
 */
describe('pack bounds of raw-event queries on PostgreSQL', () => {
  const NOW = Date.UTC(2030, 0, 1);
  const bounds = (query: string, dialect: Dialect = 'postgres') => [...sqlOf(query, dialect).matchAll(/pack_(first|last)_time (<=|>=) (-?\d+)/g)].map((m) => m[0]);

  it('takes lower and upper bounds from comparisons and BETWEEN joined by AND, either way round', () => {
    assert.deepEqual(bounds('SELECT count() FROM key_verifications_v1 WHERE time >= 1000 AND time < 5000'), ['pack_last_time >= 1000', 'pack_first_time <= 5000']);
    assert.deepEqual(bounds('SELECT count() FROM key_verifications_v1 WHERE 5000 > time AND outcome = \'VALID\' AND 1000 <= time'), ['pack_last_time >= 1000', 'pack_first_time <= 5000']);
    assert.deepEqual(bounds('SELECT count() FROM key_verifications_v1 WHERE time BETWEEN 1000 AND 5000'), ['pack_last_time >= 1000', 'pack_first_time <= 5000']);
    assert.deepEqual(bounds('SELECT count() FROM key_verifications_v1 WHERE time = 1234'), ['pack_last_time >= 1234', 'pack_first_time <= 1234']);
    assert.deepEqual(bounds('SELECT count() FROM key_verifications_v1 WHERE time > 1000 AND time > 3000 AND time < 9000 AND time < 7000'), [
      'pack_last_time >= 3000',
      'pack_first_time <= 7000',
    ]);
    // Constant expressions are folded; a fraction of a millisecond widens the bound.
    assert.deepEqual(bounds('SELECT count() FROM key_verifications_v1 WHERE time >= now() - INTERVAL 1 DAY'), [`pack_last_time >= ${NOW - 86_400_000}`]);
    assert.deepEqual(bounds('SELECT count() FROM key_verifications_v1 WHERE time > 1000.5 AND time < 2000.5'), ['pack_last_time >= 1000', 'pack_first_time <= 2001']);
  });

  it('takes none from conditions that do not hold for every row returned', () => {
    for (const where of [
      "time >= 1000 OR outcome = 'VALID'",
      'NOT (time < 1000)',
      'time NOT BETWEEN 1000 AND 5000',
      'time >= spent_credits',
      'time != 1000',
    ]) {
      // A time condition anywhere turns the default window off.
      assert.deepEqual(bounds(`SELECT count() FROM key_verifications_v1 WHERE ${where}`), [], where);
    }
    // An alias named time is not the column.
    assert.deepEqual(bounds('SELECT time - 5000 AS time FROM key_verifications_v1 WHERE time > 1000'), []);
    // A condition in an outer query on a subquery's column bounds nothing inside it; the one inside does.
    assert.deepEqual(bounds('SELECT count() FROM (SELECT time FROM key_verifications_v1) WHERE time > 1000'), []);
    assert.deepEqual(bounds('SELECT count() FROM (SELECT time FROM key_verifications_v1 WHERE time > 1000) WHERE time < 9000'), ['pack_last_time >= 1000']);
  });

  it('bounds each raw table of a join by its own conditions', () => {
    const sql = 'SELECT count() FROM key_verifications_v1 a JOIN key_verifications_v1 b ON a.request_id = b.request_id WHERE a.time > 1000 AND b.time < 9000';
    assert.deepEqual(bounds(sql), ['pack_last_time >= 1000', 'pack_first_time <= 9000']);
    const text = sqlOf(sql, 'postgres');
    assert.ok(text.indexOf('pack_last_time >= 1000') < text.indexOf('pack_first_time <= 9000'), 'in the order the tables appear');
  });

  it('applies the default window to the packs when the query has no time condition', () => {
    assert.deepEqual(bounds('SELECT count() FROM key_verifications_v1'), [`pack_last_time >= ${NOW - 30 * 86_400_000}`]);
  });

  it('adds nothing on SQLite or to the rollups', () => {
    assert.deepEqual(bounds('SELECT count() FROM key_verifications_v1 WHERE time >= 1000', 'sqlite'), []);
    assert.deepEqual(bounds('SELECT count() FROM key_verifications_per_day_v1 WHERE time >= 1000'), []);
  });
});
