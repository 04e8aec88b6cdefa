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
  return [...new Set(tags)].sort();
}

/** Sums a batch of events into the rows to add to each rollup table. */
export function rollupBatch(events: VerificationEvent[], encodeTags: (tags: string[]) => unknown): RollupRow[] {
  const rows: RollupRow[] = [];
  for (const granularity of Object.keys(ROLLUP_TABLES) as Granularity[]) {
    const sums = new Map<string, { values: unknown[]; count: number; spent: number }>();
    for (const e of events) {
      const tags = canonicalTags(e.tags);
      const dims = [e.workspaceId, e.identityId, bucketStart(granularity, e.time), e.keySpaceId, e.keyId, e.externalId, e.outcome];
      const id = JSON.stringify([dims, tags]);
      const sum = sums.get(id);
      if (sum) {
        sum.count++;
        sum.spent += e.spentCredits;
      } else {
        sums.set(id, { values: [...dims, encodeTags(tags)], count: 1, spent: e.spentCredits });
      }
    }
    // A fixed order keeps concurrent writers on PostgreSQL from locking the same rows in opposite orders.
    const ordered = [...sums.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [, s] of ordered) rows.push({ granularity, values: [...s.values, s.count, s.spent] });
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
}

export function createAnalyticsWriter(backend: Backend): AnalyticsWriter {
  return backend.kind === 'sqlite' ? new SqliteAnalyticsWriter(backend.sqlite) : new PostgresAnalyticsWriter(backend.pool);
}

class SqliteAnalyticsWriter implements AnalyticsWriter {
  private readonly insertRaw: SqliteDatabase.Statement;
  private readonly upserts: Record<Granularity, SqliteDatabase.Statement>;
  private readonly prune: SqliteDatabase.Statement;
  private readonly writeBatch: (events: VerificationEvent[]) => void;

  constructor(db: SqliteDatabase.Database) {
    const marks = (n: number) => `(${new Array(n).fill('?').join(', ')})`;
    this.insertRaw = db.prepare(`INSERT INTO analytics_events (${RAW_COLUMNS.join(', ')}) VALUES ${marks(RAW_COLUMNS.length)}`);
    this.upserts = Object.fromEntries(
      Object.entries(ROLLUP_TABLES).map(([g, table]) => [g, db.prepare(upsertSql(table, marks(ROLLUP_COLUMNS.length)))]),
    ) as Record<Granularity, SqliteDatabase.Statement>;
    this.prune = db.prepare('DELETE FROM analytics_events WHERE time < ?');
    const encode = (tags: string[]) => JSON.stringify(tags);
    this.writeBatch = db.transaction((events: VerificationEvent[]) => {
      for (const e of events) this.insertRaw.run(rawValues(e, encode));
      for (const row of rollupBatch(events, encode)) this.upserts[row.granularity].run(row.values);
    });
  }

  async write(events: VerificationEvent[]): Promise<void> {
    if (events.length > 0) this.writeBatch(events);
  }

  async pruneRaw(before: number): Promise<number> {
    return this.prune.run(before).changes;
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
    const result = await this.pool.query('DELETE FROM analytics_events WHERE time < $1', [before]);
    return result.rowCount ?? 0;
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
