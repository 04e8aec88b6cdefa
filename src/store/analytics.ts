import { Worker } from 'node:worker_threads';
import type SqliteDatabase from 'better-sqlite3';
import type pg from 'pg';
import { finished } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { EventColumns } from '../analytics/columns.ts';
import { decodeBatch, type EventChunk } from '../analytics/chunk.ts';
import { GRANULARITIES, rollupBatch, sortByRollupKey, type Granularity, type RollupSum } from '../analytics/rollup.ts';
import type { Backend } from './connection.ts';
import { analyticsPath } from './sqliteFiles.ts';
import { PostgresEventDims, SqliteEventDims } from './eventDims.ts';
import { ROLLUP_TABLES } from './migrations/0005_analytics.ts';
import { workspaceKey, workspaceKeyBytes } from '../core/workspaceKey.ts';

/** An event row's columns; the rest of the event is in its dims row (see 0007_analytics_dims.ts). */
const EVENT_ROW_COLUMNS = ['request_id', 'time', 'workspace_id', 'dims', 'spent_credits', 'latency'] as const;
const ROLLUP_KEY = ['workspace_id', 'identity_id', 'time', 'key_space_id', 'key_id', 'external_id', 'outcome', 'tags'] as const;
const ROLLUP_COLUMNS = [...ROLLUP_KEY, 'count', 'spent_credits'] as const;

/** Writes a rollup row's values into `params` from `offset`, in the order of ROLLUP_COLUMNS. */
function fillRollup(params: unknown[], offset: number, c: EventColumns, s: RollupSum, tags: unknown): void {
  const i = s.at;
  params[offset] = c.workspaceId[i];
  params[offset + 1] = c.identityId[i];
  params[offset + 2] = s.time;
  params[offset + 3] = c.keySpaceId[i];
  params[offset + 4] = c.keyId[i];
  params[offset + 5] = c.externalId[i];
  params[offset + 6] = c.outcome[i];
  params[offset + 7] = tags;
  params[offset + 8] = s.count;
  params[offset + 9] = s.spent;
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
  /** Writes one batch, given as the chunks it was buffered in. */
  write(batch: EventChunk[]): Promise<void>;
  /** Deletes raw events older than `before` (unix ms); rollups are kept. Returns how many were deleted. */
  pruneRaw(before: number): Promise<number>;
  close?(): Promise<void>;
}

/** Where a writer thread writes: a SQLite analytics file, or a PostgreSQL database (and schema). */
export type WriterTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema?: string };

/**
 * The writes run on a thread of their own, with its own connection: a batch then neither stalls the
 * requests in flight (decoding, summing and serialising ten thousand events takes milliseconds) nor, on
 * SQLite, holds the lock of the main file. An in-memory SQLite database can only be reached from its own
 * connection, so it is written on this thread.
 */
export function createAnalyticsWriter(backend: Backend): AnalyticsWriter {
  if (backend.kind === 'postgres') return new ThreadedWriter({ kind: 'postgres', url: backend.url, schema: backend.schema });
  if (backend.path === ':memory:') return new SqliteAnalyticsWriter(backend.sqlite);
  return new ThreadedWriter({ kind: 'sqlite', path: analyticsPath(backend.path) });
}

// Workspaces that ever recorded an event: the month rollup keeps one row per workspace and month at least.
const WORKSPACES_WITH_EVENTS = 'SELECT DISTINCT workspace_id FROM analytics_per_month';

const SQLITE_ROWS_PER_INSERT = 50;

const EMPTY_TAGS = '[]';


export class SqliteAnalyticsWriter implements AnalyticsWriter {
  private readonly insertRaw: SqliteDatabase.Statement;
  private readonly insertRawMany: SqliteDatabase.Statement;
  private readonly upserts: Record<Granularity, SqliteDatabase.Statement>;
  private readonly upsertsMany: Record<Granularity, SqliteDatabase.Statement>;
  private readonly prune: SqliteDatabase.Statement;
  private readonly workspaces: SqliteDatabase.Statement;
  private readonly writeBatch: (c: EventColumns) => void;

  constructor(db: SqliteDatabase.Database) {
    const marks = (n: number) => `(${new Array(n).fill('?').join(', ')})`;
    const insert = `INSERT INTO analytics_event_rows (${EVENT_ROW_COLUMNS.join(', ')}) VALUES `;
    const width = EVENT_ROW_COLUMNS.length;
    this.insertRaw = db.prepare(insert + marks(width));
    // Many rows per statement: one call into SQLite per fifty events instead of one per event.
    this.insertRawMany = db.prepare(insert + new Array(SQLITE_ROWS_PER_INSERT).fill(marks(width)).join(', '));
    const upserts = (rows: number) =>
      Object.fromEntries(
        Object.entries(ROLLUP_TABLES).map(([g, table]) => [
          g,
          db.prepare(upsertSql(table, new Array(rows).fill(marks(ROLLUP_COLUMNS.length)).join(', '))),
        ]),
      ) as Record<Granularity, SqliteDatabase.Statement>;
    this.upserts = upserts(1);
    // Rollup rows also go fifty per statement: with many distinct keys a batch has about as many rollup
    // rows per granularity as events, and one upsert statement each cost a third more per row.
    this.upsertsMany = upserts(SQLITE_ROWS_PER_INSERT);
    this.prune = db.prepare('DELETE FROM analytics_event_rows WHERE workspace_id = ? AND time < ?');
    this.workspaces = db.prepare(WORKSPACES_WITH_EVENTS).pluck();
    const encode = (tags: string[]) => (tags.length === 0 ? EMPTY_TAGS : JSON.stringify(tags));
    const dims = new SqliteEventDims(db, encode);
    // Parameter arrays filled in place and reused, batch after batch.
    const many: unknown[] = new Array(SQLITE_ROWS_PER_INSERT * width);
    const one: unknown[] = new Array(width);
    const rollupWidth = ROLLUP_COLUMNS.length;
    const manyRollups: unknown[] = new Array(SQLITE_ROWS_PER_INSERT * rollupWidth);
    const oneRollup: unknown[] = new Array(rollupWidth);
    const fill = (params: unknown[], offset: number, c: EventColumns, i: number) => {
      params[offset] = c.requestId[i];
      params[offset + 1] = c.time[i];
      params[offset + 2] = c.workspaceId[i];
      params[offset + 3] = dims.idOf(c, i);
      params[offset + 4] = c.spentCredits[i];
      params[offset + 5] = c.latency[i];
    };
    const transaction = db.transaction((c: EventColumns) => {
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
      const rollups = rollupBatch(c);
      for (const g of GRANULARITIES) {
        const sums = rollups[g];
        let k = 0;
        for (; k + SQLITE_ROWS_PER_INSERT <= sums.length; k += SQLITE_ROWS_PER_INSERT) {
          for (let j = 0; j < SQLITE_ROWS_PER_INSERT; j++) {
            const sum = sums[k + j];
            fillRollup(manyRollups, j * rollupWidth, c, sum, encode(sum.tags));
          }
          this.upsertsMany[g].run(manyRollups);
        }
        for (; k < sums.length; k++) {
          fillRollup(oneRollup, 0, c, sums[k], encode(sums[k].tags));
          this.upserts[g].run(oneRollup);
        }
      }
    });
    this.writeBatch = (c) => {
      try {
        transaction(c);
      } catch (err) {
        // Dims rows this transaction added are gone with it.
        dims.forget();
        throw err;
      }
    };
  }

  async write(batch: EventChunk[]): Promise<void> {
    const columns = decodeBatch(batch);
    if (columns.time.length > 0) this.writeBatch(columns);
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

/**
 * Hands batches to a worker thread that owns its own connection (see analyticsWriterWorker.mjs). If the
 * thread dies, the batches in flight fail (the sink keeps them and retries) and the next batch starts a new
 * thread.
 */
class ThreadedWriter implements AnalyticsWriter {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { worker: Worker; resolve(v: number): void; reject(e: Error): void }>();
  private nextId = 0;

  constructor(private readonly target: WriterTarget) {
    this.ensureWorker();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./analyticsWriterWorker.mjs', import.meta.url), { workerData: this.target });
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
    // An error thrown on the thread arrives as a copy of its fields, a SQLite error without its message.
    worker.on('error', (err: unknown) =>
      fail(err instanceof Error ? err : new Error(`the analytics writer thread failed: ${(err as { code?: string })?.code ?? String(err)}`)),
    );
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

  async write(batch: EventChunk[]): Promise<void> {
    if (batch.every((chunk) => chunk.count === 0)) return;
    const worker = this.ensureWorker();
    const id = ++this.nextId;
    // Each chunk travels as its own message (typed arrays are copied as bytes); the thread writes the
    // whole batch in one transaction once it has every part.
    for (const chunk of batch) worker.postMessage({ op: 'part', batch: id, chunk: chunk.serialize() });
    await this.send({ op: 'write', batch: id });
  }

  pruneRaw(before: number): Promise<number> {
    return this.send({ op: 'prune', before });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    // The thread closes its connection first, so PostgreSQL sees a clean goodbye rather than a dropped socket.
    await this.send({ op: 'close' }).catch(() => {});
    this.worker = undefined;
    await worker.terminate();
  }
}

const JSON_TYPES: Record<string, string> = { time: 'bigint', tags: 'text[]', spent_credits: 'bigint', count: 'bigint' };

/**
 * The rollups of a batch in one statement: each table's summed rows go as one JSON parameter. The raw
 * events go before it, by COPY, in the same transaction.
 */
function postgresRollupSql(): string {
  const rollupDefs = ROLLUP_COLUMNS.map((c) => `${c} ${JSON_TYPES[c] ?? 'text'}`).join(', ');
  const parts = Object.values(ROLLUP_TABLES).map(
    (table, i) => `r${i} AS (${upsertSql(table, `SELECT * FROM json_to_recordset($${i + 1}::json) AS r(${rollupDefs}) WHERE true`).replace(' VALUES SELECT', ' SELECT')})`,
  );
  return `WITH ${parts.join(',\n')} SELECT 1`;
}

/** On PostgreSQL an event row also holds its workspace's key, by which it is indexed (see migration 0010). */
const POSTGRES_EVENT_ROW_COLUMNS = [...EVENT_ROW_COLUMNS, 'workspace_key'] as const;
const COPY_RAW = `COPY analytics_event_rows (${POSTGRES_EVENT_ROW_COLUMNS.join(', ')}) FROM STDIN (FORMAT binary)`;

// COPY's binary format: a signature, a flags word and an empty header extension; each row its field count
// and each field its length and bytes (big-endian); -1 where the field count would be ends the data.
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const COPY_HEADER = COPY_SIGNATURE.length + 8;
const FIELDS = POSTGRES_EVENT_ROW_COLUMNS.length;
// A row's bytes besides its two strings: the field count, the lengths and five eight-byte numbers.
const ROW_FIXED = 2 + FIELDS * 4 + 5 * 8;
const TWO_32 = 4_294_967_296;

/**
 * The batch's event rows in COPY's binary format, in the order of POSTGRES_EVENT_ROW_COLUMNS, written byte by byte
 * into one buffer; `dims` holds each event's dims id. Binary spares both sides the numbers' text: the
 * writer thread formatted a latency like 0.04231 into seventeen digits and PostgreSQL parsed them back
 * (together a third of the writer thread's CPU per event, and strtod a tenth of PostgreSQL's COPY).
 */
export function copyRows(c: EventColumns, dims: Float64Array): Buffer {
  const n = c.time.length;
  // A batch's events share a few workspaces: each is encoded, and its key computed, once.
  const workspaces = new Map<string, { text: Buffer; key: Buffer }>();
  let out = Buffer.allocUnsafe(COPY_HEADER + n * (ROW_FIXED + 64) + 2);
  let view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let at = 0;
  const ensure = (bytes: number) => {
    if (at + bytes <= out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(out.length * 2, at + bytes));
    out.copy(grown, 0, 0, at);
    out = grown;
    view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  };
  const int8 = (value: number) => {
    view.setInt32(at, 8);
    const high = Math.floor(value / TWO_32);
    view.setInt32(at + 4, high);
    view.setUint32(at + 8, value - high * TWO_32);
    at += 12;
  };
  /** A string as UTF-8 with its length before it; ids this server makes are ASCII, copied by a plain loop. */
  const text = (value: string) => {
    const length = value.length;
    ensure(4 + length + 2 + ROW_FIXED);
    let i = 0;
    for (; i < length; i++) {
      const code = value.charCodeAt(i);
      if (code > 0x7f) break;
      out[at + 4 + i] = code;
    }
    if (i < length) {
      const bytes = Buffer.from(value, 'utf8');
      ensure(4 + bytes.length + 2 + ROW_FIXED);
      bytes.copy(out, at + 4);
      view.setInt32(at, bytes.length);
      at += 4 + bytes.length;
    } else {
      view.setInt32(at, length);
      at += 4 + length;
    }
  };
  COPY_SIGNATURE.copy(out, 0);
  view.setInt32(COPY_SIGNATURE.length, 0);
  view.setInt32(COPY_SIGNATURE.length + 4, 0);
  at = COPY_HEADER;
  for (let i = 0; i < n; i++) {
    ensure(ROW_FIXED + 2);
    view.setInt16(at, FIELDS);
    at += 2;
    text(c.requestId[i]);
    int8(c.time[i]);
    let workspace = workspaces.get(c.workspaceId[i]);
    if (workspace === undefined) {
      const id = c.workspaceId[i];
      workspaces.set(id, (workspace = { text: Buffer.from(id, 'utf8'), key: workspaceKeyBytes(id) }));
    }
    ensure(4 + workspace.text.length + ROW_FIXED);
    view.setInt32(at, workspace.text.length);
    at += 4 + workspace.text.copy(out, at + 4);
    int8(dims[i]);
    int8(c.spentCredits[i]);
    view.setInt32(at, 8);
    view.setFloat64(at + 4, c.latency[i]);
    at += 12;
    view.setInt32(at, 8);
    at += 4 + workspace.key.copy(out, at + 4);
  }
  ensure(2);
  view.setInt16(at, -1);
  return out.subarray(0, at + 2);
}

export class PostgresAnalyticsWriter implements AnalyticsWriter {
  private readonly rollupSql = postgresRollupSql();
  private readonly dims = new PostgresEventDims();

  constructor(private readonly pool: pg.Pool) {}

  async write(batch: EventChunk[]): Promise<void> {
    await this.writeColumns(decodeBatch(batch));
  }

  /** Writes a batch given as columns, as the writer thread receives it. Returns how many events it held. */
  async writeColumns(c: EventColumns): Promise<number> {
    if (c.time.length === 0) return 0;
    const perTable = new Map<Granularity, Record<string, unknown>[]>(Object.keys(ROLLUP_TABLES).map((g) => [g as Granularity, []]));
    const rollups = rollupBatch(c);
    for (const g of GRANULARITIES) {
      for (const sum of sortByRollupKey(c, rollups[g])) {
        const values: unknown[] = new Array(ROLLUP_COLUMNS.length);
        fillRollup(values, 0, c, sum, sum.tags);
        const obj: Record<string, unknown> = {};
        ROLLUP_COLUMNS.forEach((column, i) => (obj[column] = values[i]));
        perTable.get(g)!.push(obj);
      }
    }
    // COPY takes the raw rows at a fraction of the server's CPU an INSERT of the same rows costs (the
    // events of a batch are most of its work); raw rows and rollups commit together or not at all.
    const rows = copyRows(c, await this.dims.idsOf(this.pool, c));
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const copy = client.query(copyFrom(COPY_RAW));
      copy.end(rows);
      await finished(copy);
      await client.query(this.rollupSql, [...perTable.values()].map((rows) => JSON.stringify(rows)));
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw err;
    } finally {
      client.release(broken);
    }
    return c.time.length;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async pruneRaw(before: number): Promise<number> {
    const { rows } = await this.pool.query<{ workspace_id: string }>(WORKSPACES_WITH_EVENTS);
    let deleted = 0;
    for (const { workspace_id } of rows) {
      const result = await this.pool.query('DELETE FROM analytics_event_rows WHERE workspace_key = $1 AND workspace_id = $2 AND time < $3', [
        workspaceKey(workspace_id).toString(),
        workspace_id,
        before,
      ]);
      deleted += result.rowCount ?? 0;
    }
    return deleted;
  }
}
