import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseQuery } from '../../src/analytics/query/parser.ts';
import { translate, type Access, type Dialect } from '../../src/analytics/query/translate.ts';

function sqlOf(query: string, dialect: Dialect, access: Access = { workspaceId: 'ws_1' }): string {
  return translate(parseQuery(query), { dialect, access, now: Date.UTC(2030, 0, 1), defaultWindowDays: 30, maxRows: 100 }).sql;
}

/** Which stored table a raw-event query reads: on SQLite the event rows alone unless it needs their dims. */
describe('raw event tables read by a query', () => {
  it('SQLite: a query reading only the event rows\' own columns skips the dims join', () => {
    for (const q of [
      'SELECT count() FROM key_verifications_v1',
      'SELECT count() AS n, sum(spent_credits) FROM key_verifications_v1 WHERE time > 0',
      'SELECT request_id, latency FROM key_verifications_v1 ORDER BY time DESC LIMIT 5',
    ]) {
      const sql = sqlOf(q, 'sqlite');
      assert.match(sql, /FROM analytics_event_rows WHERE workspace_id = @p1/, q);
      assert.doesNotMatch(sql, /analytics_events/, q);
    }
  });

  it('SQLite: a query reading a dims column, or every column, reads the view', () => {
    for (const q of [
      'SELECT outcome, count() FROM key_verifications_v1 GROUP BY outcome',
      'SELECT * FROM key_verifications_v1 LIMIT 1',
      'SELECT count() FROM key_verifications_v1 WHERE has(tags, \'a\')',
      'SELECT count() FROM (SELECT * FROM key_verifications_v1)',
    ]) {
      const sql = sqlOf(q, 'sqlite');
      assert.match(sql, /FROM analytics_events WHERE workspace_id = @p1/, q);
      assert.doesNotMatch(sql, /analytics_event_rows/, q);
    }
  });

  it('SQLite: a root key limited to some APIs always reads the view, where the keyspace is', () => {
    const sql = sqlOf('SELECT count() FROM key_verifications_v1', 'sqlite', { workspaceId: 'ws_1', keySpaceIds: ['ks_1'] });
    assert.match(sql, /FROM analytics_events WHERE workspace_id = @p1 AND key_space_id IN \(@p2\)/);
  });

  it('lists only the columns a query reads, and one when it reads none', () => {
    assert.match(sqlOf('SELECT count() FROM key_verifications_v1', 'postgres'), /\(SELECT time FROM analytics_events WHERE/);
    assert.match(sqlOf('SELECT key_id FROM key_verifications_v1', 'postgres'), /\(SELECT key_id FROM analytics_events WHERE/);
  });

  it('PostgreSQL keeps one raw table', () => {
    assert.doesNotMatch(sqlOf('SELECT count() FROM key_verifications_v1', 'postgres'), /analytics_event_rows/);
  });
});
