import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { migrations } from '../../src/store/migrations/index.ts';
import { analyticsPath } from '../../src/store/sqliteFiles.ts';
import { openStore } from '../../src/store/index.ts';
import { SqliteAnalyticsWriter } from '../../src/store/analytics.ts';
import { up as createPreDimsAnalyticsTables } from '../../src/store/migrations/0005_analytics.ts';
import { event, toColumns } from '../analytics/events.ts';
import { startServer, type TestServer } from '../harness.ts';
import { newApi, newKey, verify } from '../keyHelpers.ts';

/**
 * How a SQLite store shares its files with other writers: the analytics writer thread, and any other
 * connection (a CLI command, a second process).
 */

const require = createRequire(import.meta.url);

const ANALYTICS_TABLES = [
  'analytics_event_dims', 'analytics_event_rows', 'analytics_per_minute', 'analytics_per_hour', 'analytics_per_day', 'analytics_per_month',
];

/**
 * A thread that takes the write lock of a SQLite file with `BEGIN IMMEDIATE`, writes `statement`, and
 * commits `holdMs` later (or when told, with holdMs 0). Resolves `locked` once it holds the lock.
 */
function lockHolder(path: string, statement: string, holdMs: number) {
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads');
    const Database = require(workerData.driver);
    const db = new Database(workerData.path);
    db.pragma('busy_timeout = 5000');
    db.exec('BEGIN IMMEDIATE');
    db.exec(workerData.statement);
    parentPort.postMessage('locked');
    const commit = () => { db.exec('COMMIT'); db.close(); parentPort.postMessage('committed'); };
    if (workerData.holdMs > 0) {
      // Sleeps on this thread only, so the lock is let go on time whatever the main thread is doing.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.holdMs);
      commit();
    } else {
      parentPort.once('message', commit);
    }
    `,
    { eval: true, workerData: { path, statement, holdMs, driver: require.resolve('better-sqlite3') } },
  );
  const messages: string[] = [];
  const waiters = new Map<string, () => void>();
  worker.on('message', (m: string) => {
    messages.push(m);
    waiters.get(m)?.();
  });
  const when = (m: string) =>
    new Promise<void>((resolve, reject) => {
      if (messages.includes(m)) return resolve();
      waiters.set(m, resolve);
      worker.once('error', reject);
    });
  return {
    locked: when('locked'),
    committed: () => when('committed'),
    release: () => worker.postMessage('commit'),
    stop: () => worker.terminate(),
  };
}

describe('SQLite files', () => {
  describe('the analytics file', () => {
    let server: TestServer;
    let path: string;
    before(async () => {
      server = await startServer('sqlite');
      path = server.config.databaseUrl.slice('sqlite:'.length);
    });
    after(() => server.close());

    it('holds the analytics tables, and the main file holds none of them', () => {
      const main = new SqliteDatabase(path, { readonly: true });
      const analytics = new SqliteDatabase(analyticsPath(path), { readonly: true });
      try {
        const tables = (db: SqliteDatabase.Database) =>
          (db.prepare("select name from sqlite_master where type = 'table'").pluck().all() as string[]).sort();
        assert.deepEqual(tables(analytics).filter((t) => t.startsWith('analytics_')), [...ANALYTICS_TABLES].sort());
        assert.deepEqual(tables(main).filter((t) => t.startsWith('analytics_')), []);
        assert.ok(tables(main).includes('keys'));
        assert.ok(!tables(analytics).includes('keys'), 'the analytics file holds no key material');
      } finally {
        main.close();
        analytics.close();
      }
    });

    it('a long analytics write holds up neither credit deductions nor key updates', async () => {
      const apiId = await newApi(server);
      const { keyId, key } = await newKey(server, apiId, { credits: { remaining: 5 } });
      // Another writer keeps the analytics file locked until told to let go: on one shared file, the
      // deduction below would wait for it and fail with "database is locked" after the busy timeout.
      const holder = lockHolder(
        analyticsPath(path),
        `insert into analytics_per_month (workspace_id, identity_id, time, key_space_id, key_id, external_id, outcome, tags, count, spent_credits)
         values ('ws_other', '', 0, '', '', '', 'VALID', '[]', 1, 0)`,
        0,
      );
      try {
        await holder.locked;
        const first = await verify(server, { key });
        assert.equal(first.code, 'VALID');
        assert.equal(first.credits, 4);
        const update = await server.call('keys.updateKey', { keyId, enabled: false });
        assert.equal(update.status, 200);
        assert.equal((await verify(server, { key })).code, 'DISABLED');
      } finally {
        holder.release();
        await holder.committed();
        await holder.stop();
      }
    });
  });

  describe('another writer on the main file', () => {
    let server: TestServer;
    before(async () => {
      server = await startServer('sqlite');
    });
    after(() => server.close());

    it('a transaction that reads before it writes waits for the other writer instead of failing', async () => {
      const path = server.config.databaseUrl.slice('sqlite:'.length);
      const apiId = await newApi(server);
      const { keyId } = await newKey(server, apiId);
      const role = await server.call('permissions.createRole', { name: 'locking.reader' });
      assert.equal(role.status, 200);
      // The other writer commits a change while the request is under way. A transaction that had begun
      // reading before that commit could not write afterwards ("database is locked"); one that takes the
      // write lock as it begins waits for the commit and then sees it.
      const holder = lockHolder(path, `update workspaces set name = name || '' where id = '${server.workspaceId}'`, 300);
      try {
        await holder.locked;
        const res = await server.call('keys.addRoles', { keyId, roles: ['locking.reader'] });
        assert.equal(res.status, 200);
        assert.deepEqual(
          res.body.data.map((r: { name: string }) => r.name),
          ['locking.reader'],
        );
      } finally {
        await holder.committed();
        await holder.stop();
      }
    });
  });

  describe('migration', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'latchkey-files-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('moves the analytics tables of a database made before the analytics file, rows and indexes included', async () => {
      const path = join(dir, 'old.db');
      // The database as the migrations up to 0005 left it: analytics tables in the main file.
      const old = new Kysely<any>({ dialect: new SqliteDialect({ database: new SqliteDatabase(path) }) });
      const earlier = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < '0006'));
      const result = await new Migrator({ db: old, provider: { getMigrations: async () => earlier } }).migrateToLatest();
      assert.equal(result.error, undefined);
      await old
        .insertInto('analytics_per_day')
        .values({ workspace_id: 'ws_1', identity_id: 'id_1', time: 86_400_000, key_space_id: 'ks_1', key_id: 'key_1', external_id: 'user_1', outcome: 'VALID', tags: '[]', count: 7, spent_credits: 3 })
        .execute();
      await old
        .insertInto('analytics_events')
        .values({ request_id: 'req_1', time: 86_400_001, workspace_id: 'ws_1', key_space_id: 'ks_1', key_id: 'key_1', identity_id: 'id_1', external_id: 'user_1', outcome: 'VALID', region: 'node', tags: '[]', spent_credits: 1, latency: 0.5 })
        .execute();
      await old.destroy();

      const store = await openStore(`sqlite:${path}`);
      await store.close();

      const main = new SqliteDatabase(path, { readonly: true });
      const analytics = new SqliteDatabase(analyticsPath(path), { readonly: true });
      try {
        const names = (db: SqliteDatabase.Database, type: string) =>
          db.prepare('select name from sqlite_master where type = ? order by name').pluck().all(type) as string[];
        assert.deepEqual(names(main, 'table').filter((t) => t.startsWith('analytics_')), []);
        assert.deepEqual(names(analytics, 'table').filter((t) => t.startsWith('analytics_')), [...ANALYTICS_TABLES].sort());
        assert.deepEqual(names(analytics, 'view'), ['analytics_events']);
        assert.ok(names(analytics, 'index').includes('analytics_event_rows_ws_time'));
        assert.ok(names(analytics, 'index').includes('analytics_per_day_ws_external_time'));
        assert.deepEqual(analytics.prepare('select external_id, count, spent_credits from analytics_per_day').all(), [
          { external_id: 'user_1', count: 7, spent_credits: 3 },
        ]);
        assert.deepEqual(analytics.prepare('select request_id, key_id, identity_id, region, tags, latency from analytics_events').all(), [
          { request_id: 'req_1', key_id: 'key_1', identity_id: 'id_1', region: 'node', tags: '[]', latency: 0.5 },
        ]);
        const applied = main.prepare('select name from kysely_migration').pluck().all() as string[];
        assert.ok(applied.includes('0006_analytics_file') && applied.includes('0007_analytics_dims'));
      } finally {
        main.close();
        analytics.close();
      }
    });

    it('brings an analytics file restored from before the dims split up to date, its events kept', async () => {
      const path = join(dir, 'older-analytics.db');
      await (await openStore(`sqlite:${path}`)).close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(analyticsPath(path) + suffix, { force: true });
      // The analytics tables as they were before 0007: one raw table with every field.
      const older = new Kysely<any>({ dialect: new SqliteDialect({ database: new SqliteDatabase(analyticsPath(path)) }) });
      await createPreDimsAnalyticsTables(older);
      await older
        .insertInto('analytics_events')
        .values([1, 2, 3].map((n) => ({
          request_id: `req_${n}`, time: n, workspace_id: 'ws_1', key_space_id: 'ks_1', key_id: n === 3 ? 'key_2' : 'key_1', identity_id: 'id_1',
          external_id: 'user_1', outcome: 'VALID', region: 'node', tags: '["a"]', spent_credits: n, latency: 0.5,
        })))
        .execute();
      await older.destroy();

      const store = await openStore(`sqlite:${path}`);
      try {
        assert.equal(store.backend.kind, 'sqlite');
        const db = store.backend.sqlite;
        assert.deepEqual(db.prepare('select request_id, key_id, tags, spent_credits from analytics_events order by time').all(), [
          { request_id: 'req_1', key_id: 'key_1', tags: '["a"]', spent_credits: 1 },
          { request_id: 'req_2', key_id: 'key_1', tags: '["a"]', spent_credits: 2 },
          { request_id: 'req_3', key_id: 'key_2', tags: '["a"]', spent_credits: 3 },
        ]);
        // Two distinct combinations of what the events share.
        assert.equal(db.prepare('select count(*) from analytics_event_dims').pluck().get(), 2);
      } finally {
        await store.close();
      }
    });

    it('gives an analytics file that lost its tables empty ones, so events can be written again', async () => {
      const path = join(dir, 'lost.db');
      await (await openStore(`sqlite:${path}`)).close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(analyticsPath(path) + suffix, { force: true });

      const store = await openStore(`sqlite:${path}`);
      try {
        assert.equal(store.backend.kind, 'sqlite');
        // Through the store's own connection, which reaches the file by its attachment.
        store.backend.sqlite
          .prepare(`insert into analytics_per_day (workspace_id, identity_id, time, key_space_id, key_id, external_id, outcome, tags, count, spent_credits)
            values ('ws_1', 'id_1', 86400000, 'ks_1', 'key_1', 'user_1', 'VALID', '[]', 2, 0)`)
          .run();
        new SqliteAnalyticsWriter(store.backend.sqlite).writeColumns(toColumns([event('ws_2', { requestId: 'req_after_loss' })]));
        assert.deepEqual(store.backend.sqlite.prepare('select request_id from analytics_events').pluck().all(), ['req_after_loss']);
      } finally {
        await store.close();
      }
      const analytics = new SqliteDatabase(analyticsPath(path), { readonly: true });
      try {
        const tables = analytics.prepare("select name from sqlite_master where type = 'table' order by name").pluck().all() as string[];
        assert.deepEqual(tables.filter((t) => t.startsWith('analytics_')), [...ANALYTICS_TABLES].sort());
        assert.equal(analytics.prepare("select sum(count) from analytics_per_day where workspace_id = 'ws_1'").pluck().get(), 2);
      } finally {
        analytics.close();
      }
    });
  });
});
