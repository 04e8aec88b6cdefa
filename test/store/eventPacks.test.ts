import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Migrator } from 'kysely';
import { postgresUnavailable } from '../harness.ts';
import { scratchSchema } from './scratchSchema.ts';
import { migrations } from '../../src/store/migrations/index.ts';
import { workspaceKey } from '../../src/core/workspaceKey.ts';
import { PostgresAnalyticsWriter } from '../../src/store/analytics.ts';
import { PACK_EVENTS } from '../../src/store/migrations/0011_event_packs.ts';
import { toColumns, event } from '../analytics/events.ts';

const ODD = 'ünïcödé ☃';

interface Pack {
  workspace_id: string;
  key: string;
  first_time: string;
  last_time: string;
  n: number;
  times: string[];
}

/** PostgreSQL keeps raw events in packs of up to PACK_EVENTS per workspace, read back one row per event. */
describe('PostgreSQL event packs', async () => {
  const skip = await postgresUnavailable();
  const scratch = scratchSchema('t_packs', skip);
  const schema = scratch.name;
  const migrate = async (below?: string) => {
    const chosen = Object.fromEntries(Object.entries(migrations).filter(([name]) => below === undefined || name < below));
    const result = await new Migrator({ db: scratch.db(), provider: { getMigrations: async () => chosen }, migrationTableSchema: schema }).migrateToLatest();
    assert.equal(result.error, undefined);
  };
  const packs = async (workspaceId: string): Promise<Pack[]> =>
    (
      await scratch.pool().query(
        `select workspace_id, workspace_key::text as key, first_time::text, last_time::text, cardinality(times) as n, times::text[] as times
         from analytics_event_packs where workspace_id = $1 order by last_time, first_time`,
        [workspaceId],
      )
    ).rows;
  const events = async (workspaceId: string) =>
    (
      await scratch.pool().query(
        `select request_id, time::text, spent_credits::text, latency, external_id from analytics_events where workspace_id = $1 order by time, request_id`,
        [workspaceId],
      )
    ).rows;


  it('moves the event rows stored before it into packs, per workspace and in time order', { skip }, async () => {
    await migrate('0011');
    const dims = await scratch.pool().query(
      `insert into analytics_event_dims (workspace_id, key_space_id, key_id, identity_id, external_id, outcome, region, tags)
       values ('ws_1', 'ks', 'k', '', 'alice', 'VALID', 'n', '{}'), ($1, 'ks', 'k', '', 'bob', 'VALID', 'n', '{}') returning id`,
      [ODD],
    );
    // 2,500 events of ws_1 stored newest first, and 3 of another workspace.
    await scratch.pool().query(
      `insert into analytics_event_rows (request_id, time, workspace_id, dims, spent_credits, latency, workspace_key)
       select 'req_' || i, 10000 - i, 'ws_1', $1, i, i / 4.0, ${workspaceKey('ws_1')} from generate_series(1, 2500) as g(i)`,
      [dims.rows[0].id],
    );
    await scratch.pool().query(
      `insert into analytics_event_rows (request_id, time, workspace_id, dims, spent_credits, latency, workspace_key)
       select 'odd_' || i, 500 + i, $1, $2, 0, 1, ${workspaceKey(ODD)} from generate_series(1, 3) as g(i)`,
      [ODD, dims.rows[1].id],
    );
    await migrate();

    const ws1 = await packs('ws_1');
    assert.deepEqual(
      ws1.map((p) => [p.key, p.n, p.first_time, p.last_time]),
      [
        [workspaceKey('ws_1').toString(), PACK_EVENTS, '7500', '8499'],
        [workspaceKey('ws_1').toString(), PACK_EVENTS, '8500', '9499'],
        [workspaceKey('ws_1').toString(), 500, '9500', '9999'],
      ],
    );
    for (const p of ws1) assert.deepEqual(p.times, [...p.times].sort((a, b) => Number(a) - Number(b)), 'times in order within a pack');
    assert.deepEqual((await packs(ODD)).map((p) => [p.key, p.n]), [[workspaceKey(ODD).toString(), 3]]);

    const all = await events('ws_1');
    assert.equal(all.length, 2500);
    assert.deepEqual(all[0], { request_id: 'req_2500', time: '7500', spent_credits: '2500', latency: 625, external_id: 'alice' });
    assert.deepEqual(all[2499], { request_id: 'req_1', time: '9999', spent_credits: '1', latency: 0.25, external_id: 'alice' });
    assert.equal(new Set(all.map((e) => e.request_id)).size, 2500);
    assert.deepEqual((await events(ODD)).map((e) => [e.request_id, e.external_id]), [['odd_1', 'bob'], ['odd_2', 'bob'], ['odd_3', 'bob']]);
    const indexes = await scratch.pool().query<{ indexdef: string }>(`select indexdef from pg_indexes where schemaname = $1 and tablename = 'analytics_event_packs'`, [schema]);
    assert.deepEqual(
      indexes.rows.map((r) => r.indexdef.replace(`${schema}.`, '')),
      ['CREATE INDEX analytics_event_packs_key_time ON analytics_event_packs USING btree (workspace_key, last_time)'],
    );
  });

  it('writes a batch as packs of at most PACK_EVENTS per workspace, every event once', { skip }, async () => {
    const writer = new PostgresAnalyticsWriter(scratch.pool());
    const batch = Array.from({ length: 2_345 }, (_, i) =>
      event(i % 3 === 0 ? 'ws_w1' : 'ws_w2', { time: 50_000 + i, externalId: `user_${i % 7}`, spentCredits: i, latency: i / 8 }),
    );
    assert.equal(await writer.writeColumns(toColumns(batch)), batch.length);
    const expected = (ws: string) =>
      batch
        .filter((e) => e.workspaceId === ws)
        .map((e) => ({ request_id: e.requestId, time: String(e.time), spent_credits: String(e.spentCredits), latency: e.latency, external_id: e.externalId }))
        .sort((a, b) => Number(a.time) - Number(b.time));
    for (const ws of ['ws_w1', 'ws_w2']) {
      const count = batch.filter((e) => e.workspaceId === ws).length;
      const sizes = (await packs(ws)).map((p) => p.n);
      assert.deepEqual(sizes, Array.from({ length: Math.ceil(count / PACK_EVENTS) }, (_, k) => Math.min(PACK_EVENTS, count - k * PACK_EVENTS)), ws);
      assert.deepEqual(await events(ws), expected(ws), ws);
    }
  });

  it('prunes whole packs before the cutoff and trims the pack that straddles it', { skip }, async () => {
    const writer = new PostgresAnalyticsWriter(scratch.pool());
    // One workspace, three packs of times 100_000.. (one pack per 1,000 events).
    const batch = Array.from({ length: 2_500 }, (_, i) => event('ws_prune', { time: 100_000 + i }));
    await writer.writeColumns(toColumns(batch));
    const cutoff = 100_000 + 1_234;
    const removed = await writer.pruneRaw(cutoff);
    // Pruning goes through the workspaces with rollups: the batch of the test before (all older than the
    // cutoff) goes too, the migrated events of the first test, which have none, stay.
    const others = 2_345;
    assert.equal(removed, 1_234 + others);
    const left = await events('ws_prune');
    assert.equal(left.length, 2_500 - 1_234);
    assert.equal(left[0].time, String(cutoff));
    assert.deepEqual(
      (await packs('ws_prune')).map((p) => [p.n, p.first_time, p.last_time]),
      [
        [766, String(cutoff), '101999'],
        [500, '102000', '102499'],
      ],
    );
    assert.equal(await writer.pruneRaw(cutoff), 0, 'nothing left to prune');
  });
});
