import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { openStore } from '../../src/store/index.ts';
import { postgresPool } from '../../src/store/connection.ts';
import { analyticsPath } from '../../src/store/sqliteFiles.ts';
import { PostgresAnalyticsWriter, SqliteAnalyticsWriter } from '../../src/store/analytics.ts';
import { randomAlphanumeric } from '../../src/core/ids.ts';
import type { VerificationEvent } from '../../src/analytics/types.ts';
import { POSTGRES_URL, postgresUnavailable } from '../harness.ts';
import { event, toColumns } from '../analytics/events.ts';

/** Raw events: shared fields in analytics_event_dims, read back whole through the analytics_events view. */

const COLUMNS =
  'request_id, time, workspace_id, key_space_id, key_id, identity_id, external_id, outcome, region, tags, spent_credits, latency';

/** Events of two workspaces, each told apart from the first by one field, and each combination new. */
function variedEvents(ws1: string, ws2: string): VerificationEvent[] {
  const base = { keyId: `key_a_${ws1}`, identityId: 'id_a', externalId: 'user_a', tags: ['x'], keySpaceId: 'ks_a' };
  return [
    event(ws1, base),
    event(ws1, base),
    event(ws2, base),
    event(ws1, { ...base, keySpaceId: 'ks_b' }),
    event(ws1, { ...base, keyId: `key_b_${ws1}` }),
    event(ws1, { ...base, identityId: 'id_b' }),
    event(ws1, { ...base, externalId: 'user_b' }),
    event(ws1, { ...base, outcome: 'RATE_LIMITED' }),
    event(ws1, { ...base, nodeId: 'node-other' }),
    event(ws1, { ...base, tags: [] }),
    event(ws1, { ...base, tags: ['x', 'y'] }),
    event(ws1, { ...base, tags: ['y', 'x'] }),
    // NOT_FOUND events carry no key: two workspaces' are still told apart.
    event(ws1, { keyId: '', keySpaceId: '', outcome: 'NOT_FOUND' }),
    event(ws2, { keyId: '', keySpaceId: '', outcome: 'NOT_FOUND' }),
  ].map((e, i) => ({ ...e, spentCredits: i, time: e.time + i }));
}

/** The rows the view should give for `events`, in request id order; tags as the backend stores them. */
function expected(events: VerificationEvent[], tags: (t: string[]) => unknown) {
  return [...events]
    .sort((a, b) => (a.requestId < b.requestId ? -1 : 1))
    .map((e) => ({
      request_id: e.requestId, time: e.time, workspace_id: e.workspaceId, key_space_id: e.keySpaceId, key_id: e.keyId,
      identity_id: e.identityId, external_id: e.externalId, outcome: e.outcome, region: e.nodeId, tags: tags(e.tags),
      spent_credits: e.spentCredits, latency: e.latency,
    }));
}

describe('SQLite raw events and their dims', () => {
  let dir: string;
  let db: SqliteDatabase.Database;
  let writer: SqliteAnalyticsWriter;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-dims-'));
    const path = join(dir, 'store.db');
    await (await openStore(`sqlite:${path}`)).close();
    db = new SqliteDatabase(analyticsPath(path));
    writer = new SqliteAnalyticsWriter(db);
  });
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const stored = (workspaceIds: string[]) =>
    db
      .prepare(`select ${COLUMNS} from analytics_events where workspace_id in (${workspaceIds.map(() => '?').join(', ')}) order by request_id`)
      .all(...workspaceIds);
  const dimsCount = () => db.prepare('select count(*) from analytics_event_dims').pluck().get();

  it('reads every event back as written, whichever single field tells two events apart', () => {
    const events = variedEvents('ws_d1', 'ws_d2');
    writer.writeColumns(toColumns(events));
    assert.deepEqual(stored(['ws_d1', 'ws_d2']), expected(events, (t) => JSON.stringify(t)));
    // Every event but the first's twin has a combination of its own.
    assert.equal(dimsCount(), events.length - 1);
  });

  it('a later batch reuses the dims rows of earlier ones', () => {
    const before = dimsCount();
    const events = [event('ws_d1', { keyId: 'key_a_ws_d1', identityId: 'id_a', externalId: 'user_a', tags: ['x'], keySpaceId: 'ks_a' })];
    writer.writeColumns(toColumns(events));
    assert.equal(dimsCount(), before);
    // A second writer, without the first one's memory, finds the same row.
    new SqliteAnalyticsWriter(db).writeColumns(toColumns(events.map((e) => ({ ...e, requestId: `${e.requestId}_again` }))));
    assert.equal(dimsCount(), before);
  });

  it('after a failed batch, no event refers to a dims row that the failure took back', () => {
    db.exec(`create trigger refuse_ws_d3 before insert on analytics_per_month when new.workspace_id = 'ws_d3' begin select raise(abort, 'refused'); end`);
    const failing = [event('ws_d3', { keyId: 'key_lost' })];
    assert.throws(() => writer.writeColumns(toColumns(failing)), /refused/);
    db.exec('drop trigger refuse_ws_d3');
    // The id the failed batch had taken is handed to the next new combination...
    const other = event('ws_d4', { keyId: 'key_other' });
    // ...and the failed combination, written again, must get a row of its own rather than that one.
    const retried = { ...failing[0], requestId: 'req_retried' };
    writer.writeColumns(toColumns([other, retried]));
    assert.deepEqual(stored(['ws_d3', 'ws_d4']), expected([other, retried], (t) => JSON.stringify(t)));
  });

  it('pruning deletes old raw rows by workspace and time and keeps the rest', async () => {
    const events = [10, 20, 30].map((t) => ({ ...event('ws_d5'), time: t }));
    writer.writeColumns(toColumns(events));
    const deleted = await writer.pruneRaw(25);
    assert.equal(deleted, 2);
    assert.deepEqual(
      stored(['ws_d5']).map((r: any) => r.time),
      [30],
    );
  });
});

describe('PostgreSQL raw events and their dims', async () => {
  const skip = await postgresUnavailable();
  const schema = `t_${randomAlphanumeric(12).toLowerCase()}`;
  let pool: pg.Pool;
  const writers: PostgresAnalyticsWriter[] = [];
  // Each writer has its own pool and memory of dims, as each node of a cluster has.
  const newWriter = () => {
    const writer = new PostgresAnalyticsWriter(postgresPool(POSTGRES_URL, schema, 2));
    writers.push(writer);
    return writer;
  };

  before(async () => {
    if (skip) return;
    await (await openStore(POSTGRES_URL, { schema })).close();
    pool = postgresPool(POSTGRES_URL, schema, 2);
  });
  after(async () => {
    if (skip) return;
    for (const writer of writers) await writer.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  });

  const stored = async (workspaceIds: string[]) =>
    (await pool.query(`select ${COLUMNS} from analytics_events where workspace_id = any($1) order by request_id`, [workspaceIds])).rows;
  const dimsCount = async () => (await pool.query('select count(*)::int as n from analytics_event_dims')).rows[0].n;

  it('reads every event back as written, whichever single field tells two events apart', { skip }, async () => {
    const events = variedEvents('ws_p1', 'ws_p2');
    await newWriter().writeColumns(toColumns(events));
    assert.deepEqual(await stored(['ws_p1', 'ws_p2']), expected(events, (t) => t));
    assert.equal(await dimsCount(), events.length - 1);
  });

  it('two writers adding the same new dims at once both succeed, and share one row per combination', { skip }, async () => {
    const before = await dimsCount();
    const a = variedEvents('ws_p3', 'ws_p4');
    const b = a.map((e) => ({ ...e, requestId: `${e.requestId}_b` }));
    await Promise.all([newWriter().writeColumns(toColumns(a)), newWriter().writeColumns(toColumns(b))]);
    assert.deepEqual(await stored(['ws_p3', 'ws_p4']), expected([...a, ...b], (t) => t));
    assert.equal(await dimsCount(), before + a.length - 1);
  });

  it('a failed batch leaves its dims rows, and the batch written again reads back right', { skip }, async () => {
    await pool.query(`CREATE FUNCTION refuse_ws_p5() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$`);
    await pool.query(
      `CREATE TRIGGER refuse_ws_p5 BEFORE INSERT ON analytics_per_month FOR EACH ROW WHEN (NEW.workspace_id = 'ws_p5') EXECUTE FUNCTION refuse_ws_p5()`,
    );
    const writer = newWriter();
    const events = [event('ws_p5', { keyId: 'key_p5', tags: ['t'] })];
    await assert.rejects(writer.writeColumns(toColumns(events)), /refused/);
    assert.deepEqual(await stored(['ws_p5']), []);
    const dims = await dimsCount();
    await pool.query('DROP TRIGGER refuse_ws_p5 ON analytics_per_month');
    await writer.writeColumns(toColumns(events));
    assert.deepEqual(await stored(['ws_p5']), expected(events, (t) => t));
    assert.equal(await dimsCount(), dims);
  });

  it('pruning deletes old event rows by workspace and time and keeps the rest', { skip }, async () => {
    const writer = newWriter();
    await writer.writeColumns(toColumns([10, 20, 30].map((t) => ({ ...event('ws_p6'), time: t }))));
    assert.equal(await writer.pruneRaw(25), 2);
    assert.deepEqual((await stored(['ws_p6'])).map((r) => r.time), [30]);
  });
});
