/**
 * Analytics benchmark, `npm run bench:analytics`:
 *  (a) keys.verifyKey req/s over HTTP with recording on and off, same run, alternating rounds;
 *  (b) "verifications per identity per day over the last 30 days" from the day rollup, over N raw events
 *      across 10,000 identities (default N = 10,000,000; seeded once by bulk SQL and cached);
 *  (c) a raw-table count over 1,000,000 events.
 * Options: --events <n>  --backends sqlite,postgres  --only a|b|c  --duration <s>  --rounds <n>
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { middle, runLoad, printTable, type LoadResult } from './lib/load.ts';
import { spawnUntil, threadCpuUs, SERVER_NODE_FLAGS } from './lib/process.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { ANALYTICS_SCHEMA, storeFiles } from '../src/store/sqliteFiles.ts';
import { moveRawEventsSql } from '../src/store/migrations/0007_analytics_dims.ts';
import { AnalyticsQueries } from '../src/analytics/query/service.ts';
import { callOperation } from './lib/api.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '10000000' },
    backends: { type: 'string', default: 'sqlite,postgres' },
    only: { type: 'string' },
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '6' },
  },
});
const EVENTS = Number(values.events);
const SMALL_EVENTS = 1_000_000;
const IDENTITIES = 10_000;
const BACKENDS = values.backends!.split(',') as ('sqlite' | 'postgres')[];
const DURATION = Number(values.duration);
const ROUNDS = Number(values.rounds);
const POSTGRES_URL = process.env.LATCHKEY_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TMP = resolve('.bench-tmp');
const BIN = resolve('bin/latchkey');
const DAY = 86_400_000;
// A fixed "now", so the cached data set stays inside the last 30 days of the queries.
const NOW = Date.UTC(2030, 0, 31, 12, 0);
const report: string[] = [];

mkdirSync(TMP, { recursive: true });

function postgresUrl(database: string): string {
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: POSTGRES_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------- (a) verifyKey with recording on and off

async function verifyServer(backend: 'sqlite' | 'postgres', recording: boolean, tag: string) {
  let databaseUrl: string;
  let drop = async () => {};
  if (backend === 'sqlite') {
    const dir = join(TMP, `verify-${tag}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    databaseUrl = `sqlite:${join(dir, 'latchkey.db')}`;
    drop = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const name = `lk_bench_verify_${tag.replace(/[^a-z0-9]/g, '_')}`;
    await admin(async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.query(`CREATE DATABASE ${name}`);
    });
    databaseUrl = postgresUrl(name);
    drop = () => admin(async (c) => void (await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));
  }
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const start = () =>
    spawnUntil(process.execPath, [...SERVER_NODE_FLAGS, BIN, 'serve'], /^Latchkey listening on/, {
      LATCHKEY_DATABASE_URL: databaseUrl,
      PORT: String(port),
      LATCHKEY_LOG_LEVEL: 'info',
      LATCHKEY_ANALYTICS: recording ? 'on' : 'off',
    });
  let server = await start();
  const rootKey = server.output.map((l) => l.trim()).find((l) => /^[A-Za-z0-9_]{20,}$/.test(l));
  if (!rootKey) throw new Error(`no root key printed:\n${server.output.join('\n')}`);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    rootKey,
    get pid() {
      return server.child.pid!;
    },
    /** A new process on the same store (a graceful stop first: the old one writes its last events). */
    async restart() {
      await server.stop();
      server = await start();
    },
    async stop() {
      await server.stop();
      await drop();
    },
  };
}

interface VerifyTarget {
  server: Awaited<ReturnType<typeof verifyServer>>;
  bodies: string[];
  headers: Record<string, string>;
  /** Answers counted by the load generator so far, warm-up included. */
  answered: number;
}

/** A server with 200 identities, each with one key verified with a tag, warmed up. */
async function verifyTarget(backend: 'sqlite' | 'postgres', recording: boolean): Promise<VerifyTarget> {
  const server = await verifyServer(backend, recording, `${backend}-${recording ? 'on' : 'off'}`);
  const { apiId } = await callOperation(server.url, 'apis.createApi', { name: 'bench-api' }, server.rootKey);
  const bodies: string[] = [];
  for (let i = 0; i < 200; i++) {
    await callOperation(server.url, 'identities.createIdentity', { externalId: `user_${i}` }, server.rootKey);
    const { key } = await callOperation(server.url, 'keys.createKey', { apiId, externalId: `user_${i}` }, server.rootKey);
    bodies.push(JSON.stringify({ key, tags: [`plan=${i % 3}`] }));
  }
  const headers = { authorization: `Bearer ${server.rootKey}` };
  const warm = await runLoad({ url: `${server.url}/v2/keys.verifyKey`, bodies, headers, duration: 4 });
  return { server, bodies, headers, answered: warm.requests };
}

async function verifyRun(target: VerifyTarget): Promise<{ load: LoadResult; cpuUs: number; mainUs: number }> {
  const { server, bodies, headers } = target;
  const cpuBefore = threadCpuUs(server.pid);
  const load = await runLoad({ url: `${server.url}/v2/keys.verifyKey`, bodies, headers, duration: DURATION, expect: '"valid":true' });
  const cpuAfter = threadCpuUs(server.pid);
  target.answered += load.requests;
  // The "on" server writes its last batch after the run: waiting keeps that work out of the next run.
  await new Promise((r) => setTimeout(r, 1500));
  const mainUs = (cpuAfter.main - cpuBefore.main) / load.requests;
  const cpuUs = mainUs + (cpuAfter.others - cpuBefore.others) / load.requests;
  return { load, cpuUs, mainUs };
}

/**
 * Both servers run side by side, each on its own store, and are measured turn about: on this noisy machine
 * the throughput of one server moves by a third within minutes, so the figure is the median of the ratios
 * of runs made back to back. Every round after the first restarts both servers on their stores.
 */
async function partA(): Promise<void> {
  for (const backend of BACKENDS) {
    const targets = { on: await verifyTarget(backend, true), off: await verifyTarget(backend, false) };
    const results: Record<'on' | 'off', { load: LoadResult; cpuUs: number; mainUs: number }[]> = { on: [], off: [] };
    try {
      for (let round = 0; round < ROUNDS; round++) {
        if (round > 0) {
          // Each round has new server processes: two processes of the same build on the same machine
          // differ by up to 10% in throughput for their whole life (three servers with recording off
          // measured 1.10x apart), a bias a ratio of the same two processes would carry into every round.
          for (const target of [targets.on, targets.off]) {
            await target.server.restart();
            target.answered += (await runLoad({ url: `${target.server.url}/v2/keys.verifyKey`, bodies: target.bodies, headers: target.headers, duration: 2 })).requests;
          }
        }
        // Alternate which mode goes first, so that drift in machine load does not favour one.
        for (const mode of round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
          const r = await verifyRun(targets[mode]);
          results[mode].push(r);
          console.log(
            `${backend} round ${round + 1} recording ${mode.padEnd(3)}: ${Math.round(r.load.rps)} req/s, ` +
              `${r.cpuUs.toFixed(1)} µs server CPU per request (${r.mainUs.toFixed(1)} on the serving thread)`,
          );
        }
      }
      // Waits for the timer flush, then counts what was written.
      await new Promise((r) => setTimeout(r, 2500));
      const { server } = targets.on;
      const rows = await callOperation(server.url, 'analytics.getVerifications', { query: 'SELECT count() AS n FROM key_verifications_v1 WHERE time > 0' }, server.rootKey);
      const ratios = results.on.map((r, i) => r.load.rps / results.off[i].load.rps);
      const medianRun = (mode: 'on' | 'off') => {
        const sorted = [...results[mode]].sort((a, b) => a.load.rps - b.load.rps);
        return sorted[Math.floor(sorted.length / 2)].load;
      };
      report.push(
        printTable(`(a) keys.verifyKey on ${backend}, recording on vs off (median of ${ROUNDS} alternating runs of ${DURATION} s, 50 connections)`, [
          { scenario: 'recording off', result: medianRun('off') },
          { scenario: 'recording on', result: medianRun('on'), baseline: medianRun('off') },
        ]),
      );
      const cpu = (mode: 'on' | 'off', field: 'cpuUs' | 'mainUs') => middle(results[mode].map((r) => r[field]));
      report.push(
        `**on/off req/s, median of per-round ratios: ${middle(ratios).toFixed(2)}** (rounds: ${ratios.map((r) => r.toFixed(2)).join(', ')})\n` +
          `server CPU per verification (all threads, median): off ${cpu('off', 'cpuUs').toFixed(1)} µs, on ${cpu('on', 'cpuUs').toFixed(1)} µs ` +
          `(ratio ${(cpu('off', 'cpuUs') / cpu('on', 'cpuUs')).toFixed(2)}); serving thread alone: off ${cpu('off', 'mainUs').toFixed(1)} µs, on ${cpu('on', 'mainUs').toFixed(1)} µs\n` +
          `events recorded by the "on" server: ${rows[0].n} (answers counted by the load generator: ${targets.on.answered}; ` +
          `requests still in flight when a run stops are verified and recorded but not counted)\n`,
      );
    } finally {
      await targets.on.server.stop();
      await targets.off.server.stop();
    }
  }
}

// ---------------------------------------------------------------- (b), (c) queries over a seeded data set

const BIG_WS = 'ws_bench_big';
const SMALL_WS = 'ws_bench_1m';

/**
 * SQL producing the i-th of `count` synthetic events: times rise with i over the last 30 days, as events arrive in
 * time order; identities (each with one key and a plan tag) and outcomes are spread over i.
 */
function eventSelect(backend: 'sqlite' | 'postgres', ws: string, count: number, source: string): string {
  const identity = `((i * 7919) % ${IDENTITIES})`;
  const tags =
    backend === 'sqlite'
      ? `CASE WHEN ${identity} % 3 = 0 THEN '["plan=pro"]' ELSE '[]' END`
      : `CASE WHEN ${identity} % 3 = 0 THEN ARRAY['plan=pro'] ELSE ARRAY[]::text[] END`;
  const step = (30 * DAY) / count;
  return `SELECT 'req_' || i, ${NOW - 30 * DAY} + CAST(i * ${step} AS BIGINT), '${ws}', 'ks_bench',
      'key_' || ${identity}, 'id_' || ${identity}, 'user_' || ${identity},
      CASE WHEN (i / 7) % 20 = 0 THEN 'RATE_LIMITED' WHEN (i / 7) % 50 = 1 THEN 'USAGE_EXCEEDED' ELSE 'VALID' END,
      'node-bench', ${tags}, i % 2, 0.25 FROM ${source}`;
}

const RAW_FIELDS = 'request_id, time, workspace_id, key_space_id, key_id, identity_id, external_id, outcome, region, tags, spent_credits, latency';
const STAGING_COLUMNS = `request_id text, time bigint, workspace_id text, key_space_id text, key_id text, identity_id text,
  external_id text, outcome text, region text, spent_credits bigint, latency double precision`;
// What events share is kept in a dims table: seeded events go through a staging table into it and the event rows.
const SQLITE_FROM_STAGING = `${moveRawEventsSql('temp.staging', ANALYTICS_SCHEMA, 'sqlite').join(';\n')}; DELETE FROM temp.staging;`;
const POSTGRES_FROM_STAGING = [...moveRawEventsSql('bench_staging', undefined, 'postgres', 'packs'), 'TRUNCATE bench_staging'];

function rollupInsert(table: string, bucket: string, ws: string): string {
  return `INSERT INTO ${table} (workspace_id, identity_id, time, key_space_id, key_id, external_id, outcome, tags, count, spent_credits)
    SELECT workspace_id, identity_id, ${bucket}, key_space_id, key_id, external_id, outcome, tags, count(*), sum(spent_credits)
    FROM analytics_events WHERE workspace_id = '${ws}' GROUP BY workspace_id, identity_id, ${bucket}, key_space_id, key_id, external_id, outcome, tags`;
}

const CHUNK = 1_000_000;

async function seed(backend: 'sqlite' | 'postgres'): Promise<{ store: Store; seconds?: number }> {
  const started = Date.now();
  if (backend === 'sqlite') {
    const path = join(TMP, `analytics-${EVENTS}.db`);
    const done = `${path}.seeded`;
    if (existsSync(done)) return { store: await openStore(`sqlite:${path}`) };
    for (const file of storeFiles(path)) rmSync(file, { force: true });
    const store = await openStore(`sqlite:${path}`);
    if (store.backend.kind !== 'sqlite') throw new Error('unreachable');
    const db = store.backend.sqlite;
    db.exec(`CREATE TEMP TABLE staging (${STAGING_COLUMNS}, tags text)`);
    const monthBucket = "CAST(strftime('%s', time / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000";
    for (const [ws, count] of [[BIG_WS, EVENTS], [SMALL_WS, SMALL_EVENTS]] as const) {
      for (let from = 0; from < count; from += CHUNK) {
        const to = Math.min(count, from + CHUNK) - 1;
        db.exec(`BEGIN; WITH RECURSIVE s(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM s WHERE i < ${to}) INSERT INTO temp.staging (${RAW_FIELDS}) ${eventSelect('sqlite', ws, count, 's')}; ${SQLITE_FROM_STAGING} COMMIT;`);
        console.log(`sqlite: ${ws} ${to + 1} of ${count} events (${Math.round((Date.now() - started) / 1000)} s)`);
      }
      db.exec(rollupInsert('analytics_per_day', 'time - time % 86400000', ws));
      db.exec(rollupInsert('analytics_per_month', monthBucket, ws));
    }
    db.exec('ANALYZE');
    writeFileSync(done, new Date().toISOString());
    return { store, seconds: (Date.now() - started) / 1000 };
  }
  const name = `lk_bench_analytics_${EVENTS}`;
  const exists = await admin(async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);
  if (exists) {
    const store = await openStore(postgresUrl(name));
    const seeded = await store.db.introspection.getTables().then((t) => t.some((x) => x.name === 'bench_seeded'));
    if (seeded) return { store };
    await store.close();
    await admin(async (c) => void (await c.query(`DROP DATABASE ${name} WITH (FORCE)`)));
  }
  await admin(async (c) => void (await c.query(`CREATE DATABASE ${name}`)));
  const store = await openStore(postgresUrl(name));
  if (store.backend.kind !== 'postgres') throw new Error('unreachable');
  const pool = store.backend.pool;
  const monthBucket = "(EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(time / 1000.0) AT TIME ZONE 'UTC')) * 1000)::bigint";
  await pool.query(`CREATE UNLOGGED TABLE bench_staging (${STAGING_COLUMNS}, tags text[])`);
  for (const [ws, count] of [[BIG_WS, EVENTS], [SMALL_WS, SMALL_EVENTS]] as const) {
    for (let from = 0; from < count; from += CHUNK) {
      const to = Math.min(count, from + CHUNK) - 1;
      await pool.query(`INSERT INTO bench_staging (${RAW_FIELDS}) ${eventSelect('postgres', ws, count, `generate_series(${from}::bigint, ${to}::bigint) AS g(i)`)}`);
      for (const statement of POSTGRES_FROM_STAGING) await pool.query(statement);
      console.log(`postgres: ${ws} ${to + 1} of ${count} events (${Math.round((Date.now() - started) / 1000)} s)`);
    }
    await pool.query(rollupInsert('analytics_per_day', 'time - time % 86400000', ws));
    await pool.query(rollupInsert('analytics_per_month', monthBucket, ws));
  }
  await pool.query('DROP TABLE bench_staging');
  await pool.query('VACUUM ANALYZE');
  await pool.query('CREATE TABLE bench_seeded (at text)');
  return { store, seconds: (Date.now() - started) / 1000 };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function timeQuery(queries: AnalyticsQueries, ws: string, make: (i: number) => string, runs: number) {
  for (let i = 0; i < 3; i++) await queries.run(make(i), { workspaceId: ws }, NOW);
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    rows = (await queries.run(make(i + 3), { workspaceId: ws }, NOW)).length;
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p95: percentile(times, 0.95), rows };
}

async function partsBC(): Promise<void> {
  const lines = [
    `### (b) per identity per day over the last 30 days, day rollup; (c) raw count`,
    '',
    `${EVENTS.toLocaleString('en')} raw events across ${IDENTITIES.toLocaleString('en')} identities in one workspace, plus ${SMALL_EVENTS.toLocaleString('en')} in another; full query path (parse, rewrite, read-only run) without HTTP.`,
    '',
    '| backend | query | rows | p50 ms | p95 ms |',
    '|---|---|---:|---:|---:|',
  ];
  for (const backend of BACKENDS) {
    const { store, seconds } = await seed(backend);
    if (seconds !== undefined) lines.push(`| ${backend} | (seeded in ${Math.round(seconds)} s) | | | |`);
    const queries = new AnalyticsQueries(store.backend, { timeoutMs: 300_000, maxRows: 1_000_000, defaultWindowDays: 30 });
    try {
      const cases: [string, string, (i: number) => string, number][] = [
        [
          '(b) one identity: daily counts, last 30 days (by identity_id)',
          BIG_WS,
          (i) => `SELECT time AS day, sum(count) AS verifications FROM key_verifications_per_day_v1 WHERE identity_id = 'id_${(i * 7) % IDENTITIES}' AND time >= now() - INTERVAL 30 DAY GROUP BY day ORDER BY day`,
          50,
        ],
        [
          '(b) one identity: daily counts by outcome, last 30 days (by external_id)',
          BIG_WS,
          (i) => `SELECT time AS day, outcome, sum(count) AS n FROM key_verifications_per_day_v1 WHERE external_id = 'user_${(i * 13) % IDENTITIES}' AND time >= now() - INTERVAL 30 DAY GROUP BY day, outcome ORDER BY day, outcome`,
          50,
        ],
        [
          '(b) all identities: per identity per day, last 30 days (every row)',
          BIG_WS,
          () => `SELECT identity_id, time AS day, sum(count) AS n FROM key_verifications_per_day_v1 WHERE time >= now() - INTERVAL 30 DAY GROUP BY identity_id, day`,
          5,
        ],
        [
          '(b) all identities: 30-day totals, top 10',
          BIG_WS,
          () => `SELECT external_id, sum(count) AS n FROM key_verifications_per_day_v1 WHERE time >= now() - INTERVAL 30 DAY GROUP BY external_id ORDER BY n DESC LIMIT 10`,
          5,
        ],
        ['(c) raw count over 1M events', SMALL_WS, () => 'SELECT count() AS n FROM key_verifications_v1 WHERE time >= now() - INTERVAL 30 DAY', 20],
        ['(c) raw count by outcome over 1M events', SMALL_WS, () => 'SELECT outcome, count() AS n FROM key_verifications_v1 WHERE time >= now() - INTERVAL 30 DAY GROUP BY outcome', 10],
      ];
      for (const [label, ws, make, runs] of cases) {
        const r = await timeQuery(queries, ws, make, runs);
        const line = `| ${backend} | ${label} | ${r.rows} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} |`;
        console.log(line);
        lines.push(line);
      }
    } finally {
      await queries.close();
      await store.close();
    }
  }
  const text = lines.join('\n');
  console.log(`\n${text}\n`);
  report.push(text);
}

if (!values.only || values.only === 'a') await partA();
if (!values.only || values.only === 'b' || values.only === 'c') await partsBC();
console.log(`\n## Analytics benchmark\n\n${report.join('\n\n')}`);
