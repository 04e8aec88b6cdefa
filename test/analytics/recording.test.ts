import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { describeOnBackends } from '../routes.ts';
import { manualClock, newApi, newKey, verify } from '../keyHelpers.ts';
import { event, query, record, sinkOf } from './events.ts';
import { PersistentSink } from '../../src/analytics/sink.ts';
import { encodeEvents } from '../../src/analytics/chunk.ts';
import { createAnalyticsWriter } from '../../src/store/analytics.ts';
import { bucketStart } from '../../src/analytics/rollup.ts';
import type { TestServer } from '../harness.ts';

const DAY = 86_400_000;
const clock = manualClock(Date.UTC(2030, 0, 15, 12, 0, 0));

async function rows(server: TestServer, text: string): Promise<any[]> {
  const result = await sql.raw(text).execute(server.app.services.store.db);
  return result.rows as any[];
}

await describeOnBackends(
  'analytics recording',
  (server) => {
    describe('counts', () => {
      it('counts exactly over time ranges that start and end inside a batch of thousands', async () => {
        const { workspaceId } = await server().newWorkspace();
        // 2,500 events a second apart (on PostgreSQL three packs), the newest first.
        const at = clock.now() - 3_600_000;
        const times = Array.from({ length: 2_500 }, (_, i) => at - i * 1_000);
        await record(server(), times.map((time, i) => event(workspaceId, { time, outcome: i % 4 === 0 ? 'RATE_LIMITED' : 'VALID' })));
        const key = await server().newRootKey(['api.*.read_analytics'], workspaceId);
        const ranges: [number, number][] = [
          [at - 2_499_000, at],
          [at - 1_234_567, at - 345_678],
          [at - 999_000, at - 999_000],
          [at - 1_500_500, at - 1_499_500],
          [at + 1, at + 1_000_000],
        ];
        for (const [low, high] of ranges) {
          const expected = times.filter((t) => t >= low && t <= high);
          const got = await query(server(), `SELECT count() AS n, min(time) AS first, max(time) AS last FROM key_verifications_v1 WHERE time >= ${low} AND time <= ${high}`, key);
          assert.deepEqual(got, [{ n: expected.length, first: expected.length ? Math.min(...expected) : null, last: expected.length ? Math.max(...expected) : null }], `${low}..${high}`);
          const between = await query(server(), `SELECT count() AS n FROM key_verifications_v1 WHERE outcome = 'RATE_LIMITED' AND time BETWEEN ${low} AND ${high}`, key);
          const limited = times.filter((t, i) => i % 4 === 0 && t >= low && t <= high).length;
          assert.deepEqual(between, [{ n: limited }], `rate limited ${low}..${high}`);
        }
        // Without a time condition, the default window (30 days) holds them all.
        assert.deepEqual(await query(server(), 'SELECT count() AS n FROM key_verifications_v1', key), [{ n: 2_500 }]);
      });

      it('counts by outcome, identity and tag after a known sequence', async () => {
        const { workspaceId } = await server().newWorkspace();
        const at = clock.now();
        const events = [
          ...Array.from({ length: 5 }, () => event(workspaceId, { identityId: 'id_a', externalId: 'alice', tags: ['plan=pro'], time: at })),
          ...Array.from({ length: 3 }, () => event(workspaceId, { identityId: 'id_a', externalId: 'alice', outcome: 'RATE_LIMITED', time: at })),
          ...Array.from({ length: 4 }, () => event(workspaceId, { identityId: 'id_b', externalId: 'bob', tags: ['plan=free', 'path=/x'], time: at - DAY })),
          ...Array.from({ length: 2 }, () => event(workspaceId, { outcome: 'NOT_FOUND', keyId: '', keySpaceId: '', time: at })),
        ];
        await record(server(), events);
        const key = await server().newRootKey(['api.*.read_analytics'], workspaceId);

        const byOutcome = await query(server(), 'SELECT outcome, count() AS n FROM key_verifications_v1 GROUP BY outcome ORDER BY outcome', key);
        assert.deepEqual(byOutcome, [
          { outcome: 'NOT_FOUND', n: 2 },
          { outcome: 'RATE_LIMITED', n: 3 },
          { outcome: 'VALID', n: 9 },
        ]);
        const byIdentity = await query(
          server(),
          "SELECT external_id, sum(count) AS n, sumIf(count, outcome = 'VALID') AS ok FROM key_verifications_per_day_v1 WHERE external_id != '' GROUP BY external_id ORDER BY external_id",
          key,
        );
        assert.deepEqual(byIdentity, [
          { external_id: 'alice', n: 8, ok: 5 },
          { external_id: 'bob', n: 4, ok: 4 },
        ]);
        const byTag = await query(server(), 'SELECT arrayJoin(tags) AS tag, count() AS n FROM key_verifications_v1 GROUP BY tag ORDER BY tag', key);
        assert.deepEqual(byTag, [
          { tag: 'path=/x', n: 4 },
          { tag: 'plan=free', n: 4 },
          { tag: 'plan=pro', n: 5 },
        ]);
        const tagged = await query(server(), "SELECT count() AS n FROM key_verifications_per_hour_v1 WHERE has(tags, 'plan=pro')", key);
        assert.deepEqual(tagged, [{ n: 1 }]);
      });

      it('records every real verification with its outcome, identity, tags and credits', async () => {
        const apiId = await newApi(server());
        await server().call('identities.createIdentity', { externalId: 'verified-user' });
        const { key } = await newKey(server(), apiId, { externalId: 'verified-user', credits: { remaining: 3 } });
        for (let i = 0; i < 4; i++) await verify(server(), { key, tags: ['route=/v1'], credits: { cost: 1 } });
        await verify(server(), { key: 'no-such-key' });
        await sinkOf(server()).flush();
        const got = await query(
          server(),
          "SELECT outcome, count() AS n, sum(spent_credits) AS credits FROM key_verifications_v1 WHERE external_id = 'verified-user' AND has(tags, 'route=/v1') GROUP BY outcome ORDER BY outcome",
        );
        assert.deepEqual(got, [
          { outcome: 'USAGE_EXCEEDED', n: 1, credits: 0 },
          { outcome: 'VALID', n: 3, credits: 3 },
        ]);
        const missing = await query(server(), "SELECT count() AS n FROM key_verifications_v1 WHERE outcome = 'NOT_FOUND' AND key_id = ''");
        assert.ok(missing[0].n >= 1);
      });
    });

    describe('rollups', () => {
      it('writes a batch whole or not at all: when a rollup fails, no raw event of the batch stays', async () => {
        const { workspaceId } = await server().newWorkspace();
        const db = server().app.services.store.db;
        // A trigger that refuses this workspace's month rollup rows: the raw rows go in first, then the rollups.
        if (server().backend === 'postgres') {
          await sql.raw(`CREATE FUNCTION refuse_${workspaceId}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$`).execute(db);
          await sql.raw(`CREATE TRIGGER refuse_${workspaceId} BEFORE INSERT ON analytics_per_month FOR EACH ROW WHEN (NEW.workspace_id = '${workspaceId}') EXECUTE FUNCTION refuse_${workspaceId}()`).execute(db);
        } else {
          await sql.raw(`CREATE TRIGGER analytics.refuse_${workspaceId} BEFORE INSERT ON analytics_per_month WHEN NEW.workspace_id = '${workspaceId}' BEGIN SELECT RAISE(ABORT, 'refused'); END`).execute(db);
        }
        const writer = createAnalyticsWriter(server().app.services.store.backend);
        const events = Array.from({ length: 40 }, () => event(workspaceId, { tags: ['tab\there', 'back\\slash'] }));
        try {
          await assert.rejects(writer.write(encodeEvents(events)), /refused/);
          const counts = async () =>
            (await rows(server(), `SELECT (SELECT count(*) FROM analytics_events WHERE workspace_id = '${workspaceId}') AS raw, (SELECT count(*) FROM analytics_per_day WHERE workspace_id = '${workspaceId}') AS days`))[0];
          assert.deepEqual(await counts(), { raw: 0, days: 0 });
          await sql.raw(`DROP TRIGGER ${server().backend === 'postgres' ? `refuse_${workspaceId} ON analytics_per_month` : `analytics.refuse_${workspaceId}`}`).execute(db);
          await writer.write(encodeEvents(events));
          assert.deepEqual(await counts(), { raw: 40, days: 1 });
        } finally {
          await writer.close?.();
        }
      });

      it('every rollup equals the aggregate of the raw events', async () => {
        const { workspaceId } = await server().newWorkspace();
        const start = Date.UTC(2030, 0, 1);
        const outcomes = ['VALID', 'RATE_LIMITED', 'USAGE_EXCEEDED'];
        const events = Array.from({ length: 600 }, (_, i) =>
          event(workspaceId, {
            time: start + ((i * 7_919_123) % (40 * DAY)),
            identityId: `id_${i % 4}`,
            externalId: `user_${i % 4}`,
            keyId: `key_${i % 3}`,
            outcome: outcomes[i % 3],
            tags: i % 5 === 0 ? ['b', 'a'] : i % 5 === 1 ? ['a', 'b'] : [],
            spentCredits: i % 2,
          }),
        );
        // Written in several batches, so that rollup rows are updated as well as inserted.
        for (let i = 0; i < events.length; i += 150) await record(server(), events.slice(i, i + 150));

        for (const granularity of ['minute', 'hour', 'day', 'month'] as const) {
          const expected = new Map<string, { count: number; spent: number }>();
          for (const e of events) {
            const id = [bucketStart(granularity, e.time), e.identityId, e.keyId, e.outcome, [...e.tags].sort().join(',')].join('|');
            const cur = expected.get(id) ?? { count: 0, spent: 0 };
            cur.count++;
            cur.spent += e.spentCredits;
            expected.set(id, cur);
          }
          const stored = await rows(server(), `SELECT time, identity_id, key_id, outcome, tags, count, spent_credits FROM analytics_per_${granularity} WHERE workspace_id = '${workspaceId}'`);
          const actual = new Map<string, { count: number; spent: number }>();
          for (const r of stored) {
            const tags = (Array.isArray(r.tags) ? r.tags : JSON.parse(r.tags)) as string[];
            actual.set([Number(r.time), r.identity_id, r.key_id, r.outcome, tags.join(',')].join('|'), {
              count: Number(r.count),
              spent: Number(r.spent_credits),
            });
          }
          assert.deepEqual(actual, expected, `${granularity} rollup`);
        }
        const raw = await rows(server(), `SELECT count(*) AS n FROM analytics_events WHERE workspace_id = '${workspaceId}'`);
        assert.equal(Number(raw[0].n), 600);
      });

      it('stores any text of ids and tags as it was given', async () => {
        const { workspaceId } = await server().newWorkspace();
        const texts = ['', 'NULL', 'null', '"quoted"', 'back\\slash', 'a,b', '{braces}', ' spaced ', 'tab\there', 'line\nbreak', 'ünïcödé ☃', "it's"];
        const events = texts.map((text, i) =>
          event(workspaceId, { requestId: `req_text_${i}`, externalId: text, identityId: `id_${i}`, tags: [text, `k=${text}`, '{}'] }),
        );
        await record(server(), events);
        const stored = await rows(server(), `SELECT request_id, external_id, tags FROM analytics_events WHERE workspace_id = '${workspaceId}' ORDER BY request_id`);
        const byRequest = new Map(stored.map((r) => [r.request_id, r]));
        texts.forEach((text, i) => {
          const row = byRequest.get(`req_text_${i}`);
          assert.ok(row, `event ${i} stored`);
          assert.equal(row.external_id, text);
          assert.deepEqual(Array.isArray(row.tags) ? row.tags : JSON.parse(row.tags), [text, `k=${text}`, '{}']);
        });
      });

      it("stores each event's request id, time, credits and latency exactly", async () => {
        const { workspaceId } = await server().newWorkspace();
        const cases = [
          { requestId: 'req_plain', time: Date.UTC(2030, 0, 1), spentCredits: 0, latency: 0.1 + 0.2 },
          { requestId: 'req_ünï☃', time: Date.UTC(1969, 11, 31, 23, 59, 59, 999), spentCredits: 2 ** 40 + 7, latency: 1e-9 },
          { requestId: 'req_tab\there\\back\nline', time: 2 ** 52 + 1, spentCredits: 1, latency: 12345.678901234 },
          { requestId: '', time: 0, spentCredits: 4_294_967_295, latency: 0 },
        ];
        await record(server(), cases.map((c) => event(workspaceId, c)));
        const stored = await rows(
          server(),
          `SELECT request_id, time, spent_credits, latency FROM analytics_events WHERE workspace_id = '${workspaceId}'`,
        );
        assert.equal(stored.length, cases.length);
        for (const c of cases) {
          const row = stored.find((r) => r.request_id === c.requestId);
          assert.ok(row, `event ${JSON.stringify(c.requestId)} stored`);
          assert.equal(Number(row.time), c.time);
          assert.equal(Number(row.spent_credits), c.spentCredits);
          assert.equal(Number(row.latency), c.latency);
        }
      });

      it('adds to the rollup rows of many keys batch after batch', async () => {
        const { workspaceId } = await server().newWorkspace();
        const time = Date.UTC(2030, 5, 1, 12, 30);
        // 130 keys: each batch writes its rollup rows fifty to a statement and the rest one by one,
        // and from the second batch on every row it writes already exists.
        const batch = () => Array.from({ length: 130 }, (_, i) => event(workspaceId, { time, keyId: `key_many_${i}`, spentCredits: 2 }));
        for (let round = 0; round < 3; round++) await record(server(), batch());
        for (const granularity of ['minute', 'hour', 'day', 'month'] as const) {
          const stored = await rows(server(), `SELECT key_id, count, spent_credits FROM analytics_per_${granularity} WHERE workspace_id = '${workspaceId}'`);
          assert.equal(stored.length, 130, `${granularity} rows`);
          assert.ok(stored.every((r) => Number(r.count) === 3 && Number(r.spent_credits) === 6), `${granularity} sums`);
        }
      });
    });

    describe('retention', () => {
      it('prunes raw events older than the retention and keeps the rollups', async () => {
        const { workspaceId } = await server().newWorkspace();
        const now = clock.now();
        await record(server(), [
          event(workspaceId, { time: now - 31 * DAY, externalId: 'old' }),
          event(workspaceId, { time: now - 31 * DAY, externalId: 'old' }),
          event(workspaceId, { time: now - 29 * DAY, externalId: 'recent' }),
        ]);
        const deleted = await sinkOf(server()).prune();
        assert.ok(deleted >= 2);
        const raw = await rows(server(), `SELECT external_id FROM analytics_events WHERE workspace_id = '${workspaceId}'`);
        assert.deepEqual(raw.map((r) => r.external_id), ['recent']);
        const day = await rows(server(), `SELECT external_id, count FROM analytics_per_day WHERE workspace_id = '${workspaceId}' ORDER BY external_id`);
        assert.deepEqual(day.map((r) => [r.external_id, Number(r.count)]), [['old', 2], ['recent', 1]]);

        clock.advance(2 * DAY);
        await sinkOf(server()).prune();
        const after = await rows(server(), `SELECT count(*) AS n FROM analytics_events WHERE workspace_id = '${workspaceId}'`);
        assert.equal(Number(after[0].n), 0);
        clock.set(now);
      });
    });

    describe('buffer', () => {
      it('drops and counts events beyond its capacity, and writes the rest on close', async () => {
        const { workspaceId } = await server().newWorkspace();
        const writer = createAnalyticsWriter(server().app.services.store.backend);
        const sink = new PersistentSink(writer, clock.now, { capacity: 5, flushMs: 60_000, batchSize: 100, retentionDays: 30, pruneEveryMs: 60_000 });
        for (let i = 0; i < 8; i++) sink.record(event(workspaceId, { externalId: 'buffered' }));
        assert.deepEqual(sink.stats(), { buffered: 5, accepted: 5, dropped: 3, written: 0, failedWrites: 0 });
        await sink.close();
        assert.equal(sink.stats().written, 5);
        sink.record(event(workspaceId));
        assert.equal(sink.stats().buffered, 0);
        const raw = await rows(server(), `SELECT count(*) AS n FROM analytics_events WHERE workspace_id = '${workspaceId}'`);
        assert.equal(Number(raw[0].n), 5);
      });

      it('writes a batch larger than one serialised part whole, raw rows and rollups alike', async () => {
        const { workspaceId } = await server().newWorkspace();
        const writer = createAnalyticsWriter(server().app.services.store.backend);
        // 4,500 events: on a SQLite file they reach the writer thread in three parts.
        const events = Array.from({ length: 4_500 }, (_, i) =>
          event(workspaceId, { externalId: `part-${i % 3}`, outcome: i % 10 === 0 ? 'RATE_LIMITED' : 'VALID', spentCredits: 1 }),
        );
        await writer.write(encodeEvents(events));
        await writer.close?.();
        const raw = await rows(server(), `SELECT count(*) AS n, count(DISTINCT request_id) AS ids FROM analytics_events WHERE workspace_id = '${workspaceId}'`);
        assert.deepEqual([Number(raw[0].n), Number(raw[0].ids)], [4_500, 4_500]);
        const day = await rows(
          server(),
          `SELECT external_id, outcome, count, spent_credits FROM analytics_per_day WHERE workspace_id = '${workspaceId}' ORDER BY external_id, outcome`,
        );
        assert.deepEqual(
          day.map((r) => [r.external_id, r.outcome, Number(r.count), Number(r.spent_credits)]),
          [
            ['part-0', 'RATE_LIMITED', 150, 150],
            ['part-0', 'VALID', 1_350, 1_350],
            ['part-1', 'RATE_LIMITED', 150, 150],
            ['part-1', 'VALID', 1_350, 1_350],
            ['part-2', 'RATE_LIMITED', 150, 150],
            ['part-2', 'VALID', 1_350, 1_350],
          ],
        );
      });

      it('writes a full batch without waiting for the timer', async () => {
        const { workspaceId } = await server().newWorkspace();
        const writer = createAnalyticsWriter(server().app.services.store.backend);
        const sink = new PersistentSink(writer, clock.now, { capacity: 1000, flushMs: 600_000, batchSize: 10, retentionDays: 30, pruneEveryMs: 600_000 });
        for (let i = 0; i < 10; i++) sink.record(event(workspaceId));
        for (let i = 0; i < 1000 && sink.stats().written < 10; i++) await new Promise((r) => setTimeout(r, 10));
        assert.equal(sink.stats().written, 10);
        await sink.close();
      });

      it('writes what was buffered when a flush began; events recorded during its write wait for the next flush', async () => {
        const { workspaceId } = await server().newWorkspace();
        const real = createAnalyticsWriter(server().app.services.store.backend);
        const batches: number[] = [];
        let sink: PersistentSink;
        const watching = {
          write: async (events: Parameters<typeof real.write>[0]) => {
            batches.push(events.reduce((n, chunk) => n + chunk.count, 0));
            // Arrivals while a batch is being written, as under steady load.
            if (batches.length === 1) for (let i = 0; i < 3; i++) sink.record(event(workspaceId));
            return real.write(events);
          },
          pruneRaw: real.pruneRaw.bind(real),
          close: async () => real.close?.(),
        };
        sink = new PersistentSink(watching, clock.now, { capacity: 1000, flushMs: 600_000, batchSize: 4, retentionDays: 30, pruneEveryMs: 600_000 });
        for (let i = 0; i < 10; i++) sink.record(event(workspaceId));
        await sink.flush();
        assert.deepEqual(batches, [4, 4, 2]);
        assert.deepEqual(sink.stats(), { buffered: 3, accepted: 13, dropped: 0, written: 10, failedWrites: 0 });
        await sink.close();
        assert.deepEqual(batches, [4, 4, 2, 3]);
        const raw = await rows(server(), `SELECT count(*) AS n FROM analytics_events WHERE workspace_id = '${workspaceId}'`);
        assert.equal(Number(raw[0].n), 13);
      });

      it('keeps events buffered when a write fails, and writes them on the next flush', async () => {
        const { workspaceId } = await server().newWorkspace();
        const real = createAnalyticsWriter(server().app.services.store.backend);
        let failNext = true;
        const flaky = {
          write: async (events: Parameters<typeof real.write>[0]) => {
            if (failNext) {
              failNext = false;
              throw new Error('disk full');
            }
            return real.write(events);
          },
          pruneRaw: real.pruneRaw.bind(real),
          close: async () => real.close?.(),
        };
        const errors: unknown[] = [];
        const sink = new PersistentSink(flaky, clock.now, { capacity: 100, flushMs: 600_000, batchSize: 100, retentionDays: 30, pruneEveryMs: 600_000, onError: (e) => errors.push(e) });
        for (let i = 0; i < 3; i++) sink.record(event(workspaceId));
        await assert.rejects(sink.flush(), /disk full/);
        assert.equal(sink.stats().buffered, 3);
        await sink.close();
        assert.deepEqual(sink.stats(), { buffered: 0, accepted: 3, dropped: 0, written: 3, failedWrites: 1 });
        assert.equal(errors.length, 1);
      });
    });
  },
  { clock: clock.now, env: { LATCHKEY_ANALYTICS_FLUSH_MS: '600000' } },
);
