import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Migrator } from 'kysely';
import { postgresUnavailable } from '../harness.ts';
import { scratchSchema } from './scratchSchema.ts';
import { migrations } from '../../src/store/migrations/index.ts';
import { workspaceKey, workspaceKeySql } from '../../src/core/workspaceKey.ts';

const IDS = ['ws_1', 'ws_2YzGk9QmT4aB', '', 'ünïcödé ☃', "it's \\ a\ttab"];

/** PostgreSQL raw events are indexed by a 64-bit key of their workspace, computed alike in SQL and in code. */
describe('PostgreSQL event rows keyed by workspace', async () => {
  const skip = await postgresUnavailable();
  const scratch = scratchSchema('t_wskey', skip);
  const schema = scratch.name;

  it('has the same key in SQL as in code, for any text', { skip }, async () => {
    for (const id of IDS) {
      const direct = await scratch.pool().query<{ key: string }>(`select ${workspaceKeySql('$1::text')}::text as key`, [id]);
      assert.equal(direct.rows[0].key, workspaceKey(id).toString(), JSON.stringify(id));
    }
    assert.notEqual(workspaceKey('ws_1'), workspaceKey('ws_2'));
  });

  it('gives the events stored before it their key, and indexes them by it', { skip }, async () => {
    // The schema as migration 0009 left it, with events of two workspaces.
    const earlier = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0010'));
    const first = await new Migrator({ db: scratch.db(), provider: { getMigrations: async () => earlier }, migrationTableSchema: schema }).migrateToLatest();
    assert.equal(first.error, undefined);
    const dims = await scratch.pool().query(
      `insert into analytics_event_dims (workspace_id, key_space_id, key_id, identity_id, external_id, outcome, region, tags)
       values ('ws_1', 'ks', 'k', '', '', 'VALID', 'n', '{}'), ('ünïcödé ☃', 'ks', 'k', '', '', 'VALID', 'n', '{}') returning id`,
    );
    for (let i = 0; i < 10; i++) {
      const ws = i % 2 === 0 ? 'ws_1' : 'ünïcödé ☃';
      await scratch.pool().query('insert into analytics_event_rows (request_id, time, workspace_id, dims, spent_credits, latency) values ($1, $2, $3, $4, 0, 1)', [
        `req_${i}`,
        1_000 + i,
        ws,
        dims.rows[i % 2].id,
      ]);
    }
    // Up to 0010 itself: 0011 turns the event rows into packs (see eventPacks.test.ts).
    const through0010 = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0011'));
    const rest = await new Migrator({ db: scratch.db(), provider: { getMigrations: async () => through0010 }, migrationTableSchema: schema }).migrateToLatest();
    assert.equal(rest.error, undefined);
    const { rows } = await scratch.pool().query<{ workspace_id: string; key: string; n: string }>(
      'select workspace_id, workspace_key::text as key, count(*) as n from analytics_events group by 1, 2 order by 1',
    );
    assert.deepEqual(
      rows.map((r) => [r.workspace_id, r.key, Number(r.n)]),
      [
        ['ws_1', workspaceKey('ws_1').toString(), 5],
        ['ünïcödé ☃', workspaceKey('ünïcödé ☃').toString(), 5],
      ].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
    );
    const indexes = await scratch.pool().query<{ indexdef: string }>(`select indexdef from pg_indexes where schemaname = $1 and tablename = 'analytics_event_rows'`, [schema]);
    assert.deepEqual(
      indexes.rows.map((r) => r.indexdef.replace(`${schema}.`, '')),
      ['CREATE INDEX analytics_event_rows_key_time ON analytics_event_rows USING btree (workspace_key, "time") INCLUDE (workspace_id) WITH (deduplicate_items=off)'],
    );
  });
});
