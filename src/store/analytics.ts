import { Worker } from 'node:worker_threads';
import type SqliteDatabase from 'better-sqlite3';
import type pg from 'pg';
import type { VerificationEvent } from '../analytics/types.ts';
import type { Backend } from './connection.ts';
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

interface Sum {
  /** The dimensions of the row, all but the bucket: workspace, identity, keyspace, key, externalId, outcome, tags. */
  event: VerificationEvent;
  tags: string[];
  dims: string;
  time: number;
  count: number;
  spent: number;
}

/** Adds sums into buckets of a granularity; the inputs may be events (count 1) or finer-grained sums. */
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
      out.set(id, { ...s, time });
    }
  }
  return out;
}

/**
 * Sums a batch of events into the rows to add to each rollup table. Events are summed per minute once;
 * hours, days and months are summed from those minutes, which are far fewer than the events.
 */
export function rollupBatch(events: VerificationEvent[], encodeTags: (tags: string[]) => unknown): RollupRow[] {
  const singles: Sum[] = events.map((e) => {
    const tags = canonicalTags(e.tags);
    const dims = e.workspaceId + SEP + e.identityId + SEP + e.keySpaceId + SEP + e.keyId + SEP + e.externalId + SEP + e.outcome + SEP + tags.join(TAG_SEP);
    return { event: e, tags, dims, time: e.time, count: 1, spent: e.spentCredits };
  });
  const minutes = sumInto('minute', singles);
  const byGranularity: [Granularity, Map<string, Sum>][] = [['minute', minutes]];
  for (const g of ['hour', 'day', 'month'] as const) byGranularity.push([g, sumInto(g, minutes.values())]);
  const rows: RollupRow[] = [];
  for (const [granularity, sums] of byGranularity) {
    // A fixed order keeps concurrent writers on PostgreSQL from locking the same rows in opposite orders.
    for (const id of [...sums.keys()].sort()) {
      const { event: e, tags, time, count, spent } = sums.get(id)!;
      rows.push({ granularity, values: [e.workspaceId, e.identityId, time, e.keySpaceId, e.keyId, e.externalId, e.outcome, encodeTags(tags), count, spent] });
    }
  }
  return rows;
}

function rawValues(e: VerificationEvent, encodeTags: (tags: string[]) => unknown): unknown[] {
  return [
    e.requestId, e.time, e.workspaceId, e.keySpaceId, e.keyId, e.identityId, e.externalId, e.outcome, e.nodeId,
    encodeTags(e.tags), e.spentCredits, e.latency,
  ];
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

/** On a SQLite file the writes run on a thread of their own, so a batch never stalls the requests in flight. */
export function createAnalyticsWriter(backend: Backend): AnalyticsWriter {
  if (backend.kind === 'postgres') return new PostgresAnalyticsWriter(backend.pool);
  if (backend.path === ':memory:') return new SqliteAnalyticsWriter(backend.sqlite);
  return new ThreadedSqliteWriter(backend.path);
}

// Workspaces that ever recorded an event: the month rollup keeps one row per workspace and month at least.
const WORKSPACES_WITH_EVENTS = 'SELECT DISTINCT workspace_id FROM analytics_per_month';

const SQLITE_ROWS_PER_INSERT = 50;

export class SqliteAnalyticsWriter implements AnalyticsWriter {
  private readonly insertRaw: SqliteDatabase.Statement;
  private readonly insertRawMany: SqliteDatabase.Statement;
  private readonly upserts: Record<Granularity, SqliteDatabase.Statement>;
  private readonly prune: SqliteDatabase.Statement;
  private readonly workspaces: SqliteDatabase.Statement;
  private readonly writeBatch: (events: VerificationEvent[]) => void;

  constructor(db: SqliteDatabase.Database) {
    const marks = (n: number) => `(${new Array(n).fill('?').join(', ')})`;
    const insert = `INSERT INTO analytics_events (${RAW_COLUMNS.join(', ')}) VALUES `;
    this.insertRaw = db.prepare(insert + marks(RAW_COLUMNS.length));
    // Many rows per statement: one call into SQLite per hundred events instead of one per event.
    this.insertRawMany = db.prepare(insert + new Array(SQLITE_ROWS_PER_INSERT).fill(marks(RAW_COLUMNS.length)).join(', '));
    this.upserts = Object.fromEntries(
      Object.entries(ROLLUP_TABLES).map(([g, table]) => [g, db.prepare(upsertSql(table, marks(ROLLUP_COLUMNS.length)))]),
    ) as Record<Granularity, SqliteDatabase.Statement>;
    this.prune = db.prepare('DELETE FROM analytics_events WHERE workspace_id = ? AND time < ?');
    this.workspaces = db.prepare(WORKSPACES_WITH_EVENTS).pluck();
    const encode = (tags: string[]) => JSON.stringify(tags);
    this.writeBatch = db.transaction((events: VerificationEvent[]) => {
      let i = 0;
      for (; i + SQLITE_ROWS_PER_INSERT <= events.length; i += SQLITE_ROWS_PER_INSERT) {
        const params: unknown[] = [];
        for (let j = i; j < i + SQLITE_ROWS_PER_INSERT; j++) params.push(...rawValues(events[j], encode));
        this.insertRawMany.run(params);
      }
      for (; i < events.length; i++) this.insertRaw.run(rawValues(events[i], encode));
      for (const row of rollupBatch(events, encode)) this.upserts[row.granularity].run(row.values);
    });
  }

  async write(events: VerificationEvent[]): Promise<void> {
    if (events.length > 0) this.writeBatch(events);
  }

  async pruneRaw(before: number): Promise<number> {
    let deleted = 0;
    for (const ws of this.workspaces.all() as string[]) deleted += this.prune.run(ws, before).changes;
    return deleted;
  }
}

/**
 * Hands batches to a worker thread that owns a second connection to the same SQLite file. If the thread dies,
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
    if (events.length > 0) await this.send({ op: 'write', events });
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

// PostgreSQL accepts at most 65535 parameters per statement.
const PG_MAX_PARAMS = 60_000;

class PostgresAnalyticsWriter implements AnalyticsWriter {
  constructor(private readonly pool: pg.Pool) {}

  async write(events: VerificationEvent[]): Promise<void> {
    if (events.length === 0) return;
    const encode = (tags: string[]) => tags;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const raw = events.map((e) => rawValues(e, encode));
      for (const chunk of chunks(raw, Math.floor(PG_MAX_PARAMS / RAW_COLUMNS.length))) {
        const { placeholders, params } = valuesList(chunk);
        await client.query(`INSERT INTO analytics_events (${RAW_COLUMNS.join(', ')}) VALUES ${placeholders}`, params);
      }
      const rollups = rollupBatch(events, encode);
      for (const [granularity, table] of Object.entries(ROLLUP_TABLES)) {
        const rows = rollups.filter((r) => r.granularity === granularity).map((r) => r.values);
        for (const chunk of chunks(rows, Math.floor(PG_MAX_PARAMS / ROLLUP_COLUMNS.length))) {
          const { placeholders, params } = valuesList(chunk);
          await client.query(upsertSql(table, placeholders), params);
        }
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
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

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function valuesList(rows: unknown[][]): { placeholders: string; params: unknown[] } {
  const params: unknown[] = [];
  const groups = rows.map((row) => {
    const marks = row.map((value) => {
      params.push(value);
      return `$${params.length}`;
    });
    return `(${marks.join(', ')})`;
  });
  return { placeholders: groups.join(', '), params };
}
