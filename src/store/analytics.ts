import { Worker } from 'node:worker_threads';
import type SqliteDatabase from 'better-sqlite3';
import type pg from 'pg';
import type { VerificationEvent } from '../analytics/types.ts';
import type { Backend } from './connection.ts';
import { analyticsPath } from './sqliteFiles.ts';
import { ROLLUP_TABLES } from './migrations/0005_analytics.ts';

export type Granularity = keyof typeof ROLLUP_TABLES;

const RAW_COLUMNS = [
  'request_id', 'time', 'workspace_id', 'key_space_id', 'key_id', 'identity_id', 'external_id', 'outcome', 'region',
  'tags', 'spent_credits', 'latency',
] as const;
const ROLLUP_KEY = ['workspace_id', 'identity_id', 'time', 'key_space_id', 'key_id', 'external_id', 'outcome', 'tags'] as const;
const ROLLUP_COLUMNS = [...ROLLUP_KEY, 'count', 'spent_credits'] as const;

/** One rollup row produced by a batch: the counts to add to the bucket. */
interface RollupRow {
  granularity: Granularity;
  values: unknown[];
}

/** Start of the bucket holding `time`, in unix ms (UTC). */
export function bucketStart(granularity: Granularity, time: number): number {
  switch (granularity) {
    case 'minute':
      return time - (((time % 60_000) + 60_000) % 60_000);
    case 'hour':
      return time - (((time % 3_600_000) + 3_600_000) % 3_600_000);
    case 'day':
      return time - (((time % 86_400_000) + 86_400_000) % 86_400_000);
    case 'month': {
      const d = new Date(time);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    }
  }
}

/** Tags as a rollup dimension: the same set of tags always lands in the same row, whatever order they came in. */
export function canonicalTags(tags: string[]): string[] {
  if (tags.length < 2) return tags.slice();
  return [...new Set(tags)].sort();
}

// Separators that cannot occur in ids, outcomes or tags as the API accepts them.
const SEP = '\u0000';
const TAG_SEP = '\u0001';

/**
 * A batch of events as one array per field, in the order of RAW_COLUMNS (the node id is the `region`
 * column). This is how batches travel to the SQLite writer thread: one JSON string of a dozen arrays
 * costs a fraction of structured-cloning thousands of objects.
 */
export interface EventColumns {
  requestId: string[];
  time: number[];
  workspaceId: string[];
  keySpaceId: string[];
  keyId: string[];
  identityId: string[];
  externalId: string[];
  outcome: string[];
  nodeId: string[];
  tags: string[][];
  spentCredits: number[];
  latency: number[];
}

/** One batch out of the parts it travelled in. */
export function concatColumns(parts: EventColumns[]): EventColumns {
  if (parts.length === 1) return parts[0];
  const out = {} as Record<keyof EventColumns, unknown[]>;
  for (const field of Object.keys(parts[0]) as (keyof EventColumns)[]) out[field] = ([] as unknown[]).concat(...parts.map((p) => p[field]));
  return out as unknown as EventColumns;
}

export function toColumns(events: VerificationEvent[]): EventColumns {
  const n = events.length;
  const c: EventColumns = {
    requestId: new Array(n), time: new Array(n), workspaceId: new Array(n), keySpaceId: new Array(n), keyId: new Array(n),
    identityId: new Array(n), externalId: new Array(n), outcome: new Array(n), nodeId: new Array(n), tags: new Array(n),
    spentCredits: new Array(n), latency: new Array(n),
  };
  for (let i = 0; i < n; i++) {
    const e = events[i];
    c.requestId[i] = e.requestId;
    c.time[i] = e.time;
    c.workspaceId[i] = e.workspaceId;
    c.keySpaceId[i] = e.keySpaceId;
    c.keyId[i] = e.keyId;
    c.identityId[i] = e.identityId;
    c.externalId[i] = e.externalId;
    c.outcome[i] = e.outcome;
    c.nodeId[i] = e.nodeId;
    c.tags[i] = e.tags;
    c.spentCredits[i] = e.spentCredits;
    c.latency[i] = e.latency;
  }
  return c;
}

/** One rollup bucket of a batch: the event that stands for its dimensions, and the sums to add. */
interface Sum {
  /** Index, in the batch, of an event with these dimensions. */
  at: number;
  tags: string[];
  dims: string;
  time: number;
  count: number;
  spent: number;
}

function level(map: Map<unknown, any>, key: unknown): Map<unknown, any> {
  let next = map.get(key);
  if (next === undefined) map.set(key, (next = new Map()));
  return next;
}

/** Adds finer-grained sums into buckets of a coarser granularity. */
function sumInto(granularity: Granularity, inputs: Iterable<Sum>): Map<string, Sum> {
  const out = new Map<string, Sum>();
  for (const s of inputs) {
    const time = bucketStart(granularity, s.time);
    const id = time + SEP + s.dims;
    const cur = out.get(id);
    if (cur) {
      cur.count += s.count;
      cur.spent += s.spent;
    } else {
      out.set(id, { at: s.at, tags: s.tags, dims: s.dims, time, count: s.count, spent: s.spent });
    }
  }
  return out;
}

/**
 * Sums a batch of events into the rows to add to each rollup table. Events are summed per minute once, without
 * an object per event; hours, days and months are summed from those minutes, which are far fewer than the events.
 */
export function rollupBatch(c: EventColumns, encodeTags: (tags: string[]) => unknown): RollupRow[] {
  // Minute sums are looked up field by field in nested maps: the ids of one key are the same strings event
  // after event, whose hashes are computed once, so this costs a few map lookups per event where one long
  // concatenated key would be built and hashed anew for every event.
  const root = new Map<unknown, any>();
  const minutes: Sum[] = [];
  const n = c.time.length;
  for (let i = 0; i < n; i++) {
    const raw = c.tags[i];
    const tagKey = raw.length === 0 ? '' : raw.length === 1 ? raw[0] : canonicalTags(raw).join(TAG_SEP);
    const t = c.time[i];
    const time = t - (((t % 60_000) + 60_000) % 60_000);
    let m = level(root, time);
    m = level(m, c.keyId[i]);
    m = level(m, c.identityId[i]);
    m = level(m, c.externalId[i]);
    m = level(m, c.outcome[i]);
    m = level(m, c.keySpaceId[i]);
    m = level(m, c.workspaceId[i]);
    const cur = m.get(tagKey) as Sum | undefined;
    if (cur) {
      cur.count++;
      cur.spent += c.spentCredits[i];
    } else {
      const dims = c.workspaceId[i] + SEP + c.identityId[i] + SEP + c.keySpaceId[i] + SEP + c.keyId[i] + SEP + c.externalId[i] + SEP + c.outcome[i] + SEP + tagKey;
      const sum: Sum = { at: i, tags: raw.length < 2 ? raw : canonicalTags(raw), dims, time, count: 1, spent: c.spentCredits[i] };
      m.set(tagKey, sum);
      minutes.push(sum);
    }
  }
  const minuteSums = new Map<string, Sum>();
  for (const s of minutes) minuteSums.set(s.time + SEP + s.dims, s);
  const byGranularity: [Granularity, Map<string, Sum>][] = [['minute', minuteSums]];
  for (const g of ['hour', 'day', 'month'] as const) byGranularity.push([g, sumInto(g, minutes)]);
  const rows: RollupRow[] = [];
  for (const [granularity, sums] of byGranularity) {
    // A fixed order keeps concurrent writers on PostgreSQL from locking the same rows in opposite orders.
    for (const id of [...sums.keys()].sort()) {
      const { at: i, tags, time, count, spent } = sums.get(id)!;
      rows.push({
        granularity,
        values: [c.workspaceId[i], c.identityId[i], time, c.keySpaceId[i], c.keyId[i], c.externalId[i], c.outcome[i], encodeTags(tags), count, spent],
      });
    }
  }
  return rows;
}

function upsertSql(table: string, placeholders: string): string {
  return (
    `INSERT INTO ${table} (${ROLLUP_COLUMNS.join(', ')}) VALUES ${placeholders} ` +
    `ON CONFLICT (${ROLLUP_KEY.join(', ')}) DO UPDATE SET ` +
    `count = ${table}.count + excluded.count, spent_credits = ${table}.spent_credits + excluded.spent_credits`
  );
}

/**
 * Writes verification events: the raw rows and every rollup, in one transaction per batch, so the rollups
 * always equal the aggregate of what was recorded. The upsert syntax is shared by both dialects; only
 * the tag encoding and the driver calls differ.
 */
export interface AnalyticsWriter {
  write(events: VerificationEvent[]): Promise<void>;
  /** Deletes raw events older than `before` (unix ms); rollups are kept. Returns how many were deleted. */
  pruneRaw(before: number): Promise<number>;
  close?(): Promise<void>;
}

/**
 * On a SQLite file the writes run on a thread of their own, on the analytics file, so a batch neither stalls
 * the requests in flight nor holds the lock of the main file.
 */
export function createAnalyticsWriter(backend: Backend): AnalyticsWriter {
  if (backend.kind === 'postgres') return new PostgresAnalyticsWriter(backend.pool);
  if (backend.path === ':memory:') return new SqliteAnalyticsWriter(backend.sqlite);
  return new ThreadedSqliteWriter(analyticsPath(backend.path));
}

// Workspaces that ever recorded an event: the month rollup keeps one row per workspace and month at least.
const WORKSPACES_WITH_EVENTS = 'SELECT DISTINCT workspace_id FROM analytics_per_month';

const SQLITE_ROWS_PER_INSERT = 50;

const EMPTY_TAGS = '[]';

export class SqliteAnalyticsWriter implements AnalyticsWriter {
  private readonly insertRaw: SqliteDatabase.Statement;
  private readonly insertRawMany: SqliteDatabase.Statement;
  private readonly upserts: Record<Granularity, SqliteDatabase.Statement>;
  private readonly prune: SqliteDatabase.Statement;
  private readonly workspaces: SqliteDatabase.Statement;
  private readonly writeBatch: (c: EventColumns) => void;

  constructor(db: SqliteDatabase.Database) {
    const marks = (n: number) => `(${new Array(n).fill('?').join(', ')})`;
    const insert = `INSERT INTO analytics_events (${RAW_COLUMNS.join(', ')}) VALUES `;
    this.insertRaw = db.prepare(insert + marks(RAW_COLUMNS.length));
    // Many rows per statement: one call into SQLite per fifty events instead of one per event.
    this.insertRawMany = db.prepare(insert + new Array(SQLITE_ROWS_PER_INSERT).fill(marks(RAW_COLUMNS.length)).join(', '));
    this.upserts = Object.fromEntries(
      Object.entries(ROLLUP_TABLES).map(([g, table]) => [g, db.prepare(upsertSql(table, marks(ROLLUP_COLUMNS.length)))]),
    ) as Record<Granularity, SqliteDatabase.Statement>;
    this.prune = db.prepare('DELETE FROM analytics_events WHERE workspace_id = ? AND time < ?');
    this.workspaces = db.prepare(WORKSPACES_WITH_EVENTS).pluck();
    const encode = (tags: string[]) => (tags.length === 0 ? EMPTY_TAGS : JSON.stringify(tags));
    const width = RAW_COLUMNS.length;
    // Parameter arrays filled in place and reused, batch after batch.
    const many: unknown[] = new Array(SQLITE_ROWS_PER_INSERT * width);
    const one: unknown[] = new Array(width);
    const fill = (params: unknown[], offset: number, c: EventColumns, i: number) => {
      params[offset] = c.requestId[i];
      params[offset + 1] = c.time[i];
      params[offset + 2] = c.workspaceId[i];
      params[offset + 3] = c.keySpaceId[i];
      params[offset + 4] = c.keyId[i];
      params[offset + 5] = c.identityId[i];
      params[offset + 6] = c.externalId[i];
      params[offset + 7] = c.outcome[i];
      params[offset + 8] = c.nodeId[i];
      params[offset + 9] = encode(c.tags[i]);
      params[offset + 10] = c.spentCredits[i];
      params[offset + 11] = c.latency[i];
    };
    this.writeBatch = db.transaction((c: EventColumns) => {
      const n = c.time.length;
      let i = 0;
      for (; i + SQLITE_ROWS_PER_INSERT <= n; i += SQLITE_ROWS_PER_INSERT) {
        for (let j = 0; j < SQLITE_ROWS_PER_INSERT; j++) fill(many, j * width, c, i + j);
        this.insertRawMany.run(many);
      }
      for (; i < n; i++) {
        fill(one, 0, c, i);
        this.insertRaw.run(one);
      }
      for (const row of rollupBatch(c, encode)) this.upserts[row.granularity].run(row.values);
    });
  }

  async write(events: VerificationEvent[]): Promise<void> {
    if (events.length > 0) this.writeBatch(toColumns(events));
  }

  /** Writes a batch given as columns, as the writer thread receives it. Returns how many events it held. */
  writeColumns(c: EventColumns): number {
    if (c.time.length > 0) this.writeBatch(c);
    return c.time.length;
  }

  async pruneRaw(before: number): Promise<number> {
    let deleted = 0;
    for (const ws of this.workspaces.all() as string[]) deleted += this.prune.run(ws, before).changes;
    return deleted;
  }
}

/** Events serialised per turn of the event loop when a batch is handed to the writer thread. */
const SERIALIZED_PART = 2_000;

/**
 * Hands batches to a worker thread that owns its own connection to the analytics file. If the thread dies,
 * the batches in flight fail (the sink keeps them and retries) and the next batch starts a new thread.
 */
class ThreadedSqliteWriter implements AnalyticsWriter {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { worker: Worker; resolve(v: number): void; reject(e: Error): void }>();
  private nextId = 0;

  constructor(private readonly path: string) {
    this.ensureWorker();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./analyticsWriterWorker.mjs', import.meta.url), { workerData: { path: this.path } });
    worker.unref();
    worker.on('message', (msg: { id: number; result?: number; error?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new Error(msg.error));
      else p.resolve(msg.result ?? 0);
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, p] of this.pending) {
        if (p.worker !== worker) continue;
        this.pending.delete(id);
        p.reject(err);
      }
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('the analytics writer thread stopped')));
    this.worker = worker;
    return worker;
  }

  private send(message: Record<string, unknown>): Promise<number> {
    const worker = this.ensureWorker();
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { worker, resolve, reject });
      worker.postMessage({ id, ...message });
    });
  }

  async write(events: VerificationEvent[]): Promise<void> {
    if (events.length === 0) return;
    const worker = this.ensureWorker();
    const batch = ++this.nextId;
    // The batch travels in parts of one JSON string each: posting a string is a copy of its bytes, where
    // thousands of event objects would each be structured-cloned here and rebuilt there. Serialising is
    // the part of recording that runs on this thread, so it is done a part per turn of the event loop,
    // keeping each pause for the requests in flight to about a millisecond. The thread writes the whole
    // batch in one transaction once it has every part.
    for (let from = 0; from < events.length; from += SERIALIZED_PART) {
      if (from > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.worker !== worker) throw new Error('the analytics writer thread stopped');
      const columns = JSON.stringify(toColumns(events.slice(from, from + SERIALIZED_PART)));
      worker.postMessage({ op: 'part', batch, columns });
    }
    await this.send({ op: 'write', batch });
  }

  pruneRaw(before: number): Promise<number> {
    return this.send({ op: 'prune', before });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }
}

const JSON_TYPES: Record<string, string> = { time: 'bigint', tags: 'text[]', spent_credits: 'bigint', count: 'bigint', latency: 'double precision' };
const EVENT_FIELDS = [
  'requestId', 'time', 'workspaceId', 'keySpaceId', 'keyId', 'identityId', 'externalId', 'outcome', 'nodeId', 'tags', 'spentCredits',
  'latency',
] as const;

/**
 * The whole batch in one statement, so one round trip and atomic without BEGIN/COMMIT: the events go as one
 * JSON parameter (the event objects as they are; a single native JSON.stringify on this thread instead of
 * a placeholder and a text conversion per value), each rollup as one JSON parameter of its summed rows.
 */
function postgresBatchSql(): string {
  const rawDefs = RAW_COLUMNS.map((c, i) => `"${EVENT_FIELDS[i]}" ${JSON_TYPES[c] ?? 'text'}`).join(', ');
  const rawSelect = EVENT_FIELDS.map((f) => `"${f}"`).join(', ');
  const rollupDefs = ROLLUP_COLUMNS.map((c) => `${c} ${JSON_TYPES[c] ?? 'text'}`).join(', ');
  const parts = [
    `raw AS (INSERT INTO analytics_events (${RAW_COLUMNS.join(', ')}) SELECT ${rawSelect} FROM json_to_recordset($1::json) AS e(${rawDefs}))`,
    ...Object.values(ROLLUP_TABLES).map(
      (table, i) => `r${i} AS (${upsertSql(table, `SELECT * FROM json_to_recordset($${i + 2}::json) AS r(${rollupDefs}) WHERE true`).replace(' VALUES SELECT', ' SELECT')})`,
    ),
  ];
  return `WITH ${parts.join(',\n')} SELECT 1`;
}

class PostgresAnalyticsWriter implements AnalyticsWriter {
  private readonly batchSql = postgresBatchSql();

  constructor(private readonly pool: pg.Pool) {}

  async write(events: VerificationEvent[]): Promise<void> {
    if (events.length === 0) return;
    const perTable = new Map<Granularity, Record<string, unknown>[]>(Object.keys(ROLLUP_TABLES).map((g) => [g as Granularity, []]));
    for (const row of rollupBatch(toColumns(events), (tags) => tags)) {
      const obj: Record<string, unknown> = {};
      ROLLUP_COLUMNS.forEach((c, i) => (obj[c] = row.values[i]));
      perTable.get(row.granularity)!.push(obj);
    }
    await this.pool.query(this.batchSql, [JSON.stringify(events), ...[...perTable.values()].map((rows) => JSON.stringify(rows))]);
  }

  async pruneRaw(before: number): Promise<number> {
    const { rows } = await this.pool.query<{ workspace_id: string }>(WORKSPACES_WITH_EVENTS);
    let deleted = 0;
    for (const { workspace_id } of rows) {
      const result = await this.pool.query('DELETE FROM analytics_events WHERE workspace_id = $1 AND time < $2', [workspace_id, before]);
      deleted += result.rowCount ?? 0;
    }
    return deleted;
  }
}
