import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import pg from 'pg';
import { POSTGRES_URL, postgresUnavailable } from '../harness.ts';
import { migrations } from '../../src/store/migrations/index.ts';
import { workspaceKey, workspaceKeySql } from '../../src/core/workspaceKey.ts';

const IDS = ['ws_1', 'ws_2YzGk9QmT4aB', '', 'ünïcödé ☃', "it's \\ a\ttab"];

/** PostgreSQL raw events are indexed by a 64-bit key of their workspace, computed alike in SQL and in code. */
describe('PostgreSQL event rows keyed by workspace', async () => {
  const skip = await postgresUnavailable();
  const schema = `t_wskey_${Math.random().toString(36).slice(2, 10)}`;
  let pool: pg.Pool;
  let db: Kysely<any>;
  before(async () => {
    if (skip) return;
    pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2, options: `-c search_path=${schema}` });
    await pool.query(`CREATE SCHEMA ${schema}`);
    db = new Kysely({ dialect: new PostgresDialect({ pool }) });
  });
  after(async () => {
    if (skip) return;
    await pool.query(`DROP SCHEMA ${schema} CASCADE`);
    await db.destroy();
  });

  it('has the same key in SQL as in code, for any text', { skip }, async () => {
    for (const id of IDS) {
      const direct = await pool.query<{ key: string }>(`select ${workspaceKeySql('$1::text')}::text as key`, [id]);
      assert.equal(direct.rows[0].key, workspaceKey(id).toString(), JSON.stringify(id));
    }
    assert.notEqual(workspaceKey('ws_1'), workspaceKey('ws_2'));
  });

  it('gives the events stored before it their key, and indexes them by it', { skip }, async () => {
    // The schema as migration 0009 left it, with events of two workspaces.
    const earlier = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0010'));
    const first = await new Migrator({ db, provider: { getMigrations: async () => earlier }, migrationTableSchema: schema }).migrateToLatest();
    assert.equal(first.error, undefined);
    const dims = await pool.query(
      `insert into analytics_event_dims (workspace_id, key_space_id, key_id, identity_id, external_id, outcome, region, tags)
       values ('ws_1', 'ks', 'k', '', '', 'VALID', 'n', '{}'), ('ünïcödé ☃', 'ks', 'k', '', '', 'VALID', 'n', '{}') returning id`,
    );
    for (let i = 0; i < 10; i++) {
      const ws = i % 2 === 0 ? 'ws_1' : 'ünïcödé ☃';
      await pool.query('insert into analytics_event_rows (request_id, time, workspace_id, dims, spent_credits, latency) values ($1, $2, $3, $4, 0, 1)', [
        `req_${i}`,
        1_000 + i,
        ws,
        dims.rows[i % 2].id,
      ]);
    }
    const rest = await new Migrator({ db, provider: { getMigrations: async () => migrations }, migrationTableSchema: schema }).migrateToLatest();
    assert.equal(rest.error, undefined);
    const { rows } = await pool.query<{ workspace_id: string; key: string; n: string }>(
      'select workspace_id, workspace_key::text as key, count(*) as n from analytics_events group by 1, 2 order by 1',
    );
    assert.deepEqual(
      rows.map((r) => [r.workspace_id, r.key, Number(r.n)]),
      [
        ['ws_1', workspaceKey('ws_1').toString(), 5],
        ['ünïcödé ☃', workspaceKey('ünïcödé ☃').toString(), 5],
      ].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
    );
    const indexes = await pool.query<{ indexdef: string }>(`select indexdef from pg_indexes where schemaname = $1 and tablename = 'analytics_event_rows'`, [schema]);
    assert.deepEqual(
      indexes.rows.map((r) => r.indexdef.replace(`${schema}.`, '')),
      ['CREATE INDEX analytics_event_rows_key_time ON analytics_event_rows USING btree (workspace_key, "time") INCLUDE (workspace_id) WITH (deduplicate_items=off)'],
    );
  });
});
