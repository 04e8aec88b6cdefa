import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { openStore } from '../../src/store/index.ts';
import { analyticsPath } from '../../src/store/sqliteFiles.ts';
import { SqliteAnalyticsWriter } from '../../src/store/analytics.ts';
import type { VerificationEvent } from '../../src/analytics/types.ts';
import { event, toColumns } from '../analytics/events.ts';

/** SQLite raw events: shared fields in analytics_event_dims, read back whole through the analytics_events view. */
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
      .prepare(
        `select request_id, time, workspace_id, key_space_id, key_id, identity_id, external_id, outcome, region, tags, spent_credits, latency
         from analytics_events where workspace_id in (${workspaceIds.map(() => '?').join(', ')}) order by request_id`,
      )
      .all(...workspaceIds);
  const expected = (events: VerificationEvent[]) =>
    [...events]
      .sort((a, b) => (a.requestId < b.requestId ? -1 : 1))
      .map((e) => ({
        request_id: e.requestId, time: e.time, workspace_id: e.workspaceId, key_space_id: e.keySpaceId, key_id: e.keyId,
        identity_id: e.identityId, external_id: e.externalId, outcome: e.outcome, region: e.nodeId, tags: JSON.stringify(e.tags),
        spent_credits: e.spentCredits, latency: e.latency,
      }));

  it('reads every event back as written, whichever single field tells two events apart', () => {
    const base = { keyId: 'key_a', identityId: 'id_a', externalId: 'user_a', tags: ['x'], keySpaceId: 'ks_a' };
    const events = [
      event('ws_d1', base),
      event('ws_d1', base),
      event('ws_d2', base),
      event('ws_d1', { ...base, keySpaceId: 'ks_b' }),
      event('ws_d1', { ...base, keyId: 'key_b' }),
      event('ws_d1', { ...base, identityId: 'id_b' }),
      event('ws_d1', { ...base, externalId: 'user_b' }),
      event('ws_d1', { ...base, outcome: 'RATE_LIMITED' }),
      event('ws_d1', { ...base, nodeId: 'node-other' }),
      event('ws_d1', { ...base, tags: [] }),
      event('ws_d1', { ...base, tags: ['x', 'y'] }),
      event('ws_d1', { ...base, tags: ['y', 'x'] }),
      // NOT_FOUND events carry no key: two workspaces' are still told apart.
      event('ws_d1', { keyId: '', keySpaceId: '', outcome: 'NOT_FOUND' }),
      event('ws_d2', { keyId: '', keySpaceId: '', outcome: 'NOT_FOUND' }),
    ].map((e, i) => ({ ...e, spentCredits: i, time: e.time + i }));
    writer.writeColumns(toColumns(events));
    assert.deepEqual(stored(['ws_d1', 'ws_d2']), expected(events));
    // Every event but the first's twin has a combination of its own.
    const distinct = db.prepare("select count(*) from analytics_event_dims where workspace_id in ('ws_d1', 'ws_d2')").pluck().get();
    assert.equal(distinct, events.length - 1);
  });

  it('a later batch reuses the dims rows of earlier ones', () => {
    const before = db.prepare('select count(*) from analytics_event_dims').pluck().get();
    const events = [event('ws_d1', { keyId: 'key_a', identityId: 'id_a', externalId: 'user_a', tags: ['x'], keySpaceId: 'ks_a' })];
    writer.writeColumns(toColumns(events));
    assert.equal(db.prepare('select count(*) from analytics_event_dims').pluck().get(), before);
    // A second writer, without the first one's memory, finds the same row.
    new SqliteAnalyticsWriter(db).writeColumns(toColumns(events.map((e) => ({ ...e, requestId: `${e.requestId}_again` }))));
    assert.equal(db.prepare('select count(*) from analytics_event_dims').pluck().get(), before);
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
    assert.deepEqual(stored(['ws_d3', 'ws_d4']), expected([other, retried]));
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
