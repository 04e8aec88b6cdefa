import { mkdirSync, accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import {
  CompiledQuery,
  Kysely,
  Migrator,
  SqliteDialect,
  SqliteDriver,
  sql,
  type DatabaseConnection,
  type Driver,
  type SqliteDialectConfig,
} from 'kysely';
import type { Database } from './schema.ts';
import { migrations } from './migrations/index.ts';
import { up as createAnalyticsTables } from './migrations/0005_analytics.ts';
import { splitRawEvents } from './migrations/0007_analytics_dims.ts';
import { ANALYTICS_SCHEMA, WRITE_LOCK_TABLE, analyticsPath } from './sqliteFiles.ts';
import { StoreError } from './errors.ts';
import { OwnSchemaPostgresDialect } from './pgIntrospector.ts';

/**
 * Transactions take the main file's write lock when they begin. Another connection (a CLI command, another
 * process) may be writing; a deferred transaction that read first would then fail with "database is locked"
 * when it tries to write, whereas one that locks first waits for the lock under busy_timeout.
 * `BEGIN IMMEDIATE` would do that but would also lock the attached analytics file, whose writer thread holds
 * it for whole batches; a delete of nothing from a table of the main file locks that file alone.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'));
    try {
      await connection.executeQuery(CompiledQuery.raw(`delete from main.${WRITE_LOCK_TABLE} where 0`));
    } catch (err) {
      await connection.executeQuery(CompiledQuery.raw('rollback'));
      throw err;
    }
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.settings);
  }
}

export type Db = Kysely<Database>;

export type Backend =
  | { kind: 'sqlite'; path: string; sqlite: SqliteDatabase.Database }
  | { kind: 'postgres'; pool: pg.Pool; url: string; schema?: string };

export interface Connection {
  db: Db;
  backend: Backend;
  close(): Promise<void>;
}

export { StoreError };

// PostgreSQL returns BIGINT and NUMERIC as strings; every such column here holds values well inside 2^53.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

export interface ConnectOptions {
  /** PostgreSQL only: the schema to use (created if missing). Tests give each server its own. */
  schema?: string;
  poolSize?: number;
}

export async function connect(url: string, options: ConnectOptions = {}): Promise<Connection> {
  if (url.startsWith('sqlite:')) return connectSqlite(url.slice('sqlite:'.length));
  return connectPostgres(url, options);
}

/**
 * Creates the directory and its missing parents one by one. Node's recursive mkdir never returns on some
 * virtual file systems (a path under /proc spins forever), so it is not used.
 */
function ensureDirectory(dir: string): void {
  const missing: string[] = [];
  let current = dir;
  while (!existsSync(current)) {
    missing.unshift(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  if (missing.length === 0 && !statSync(dir).isDirectory()) throw new Error(`${dir} is not a directory`);
  for (const d of missing) mkdirSync(d);
}

/** The most useful message of a connection error: a refused dual-stack connect has an empty one. */
function reason(err: unknown): string {
  const e = err as { message?: string; code?: string; errors?: { message?: string }[] };
  return e?.message || e?.errors?.[0]?.message || e?.code || String(err);
}

function connectSqlite(pathSpec: string): Connection {
  const path = pathSpec === ':memory:' ? pathSpec : resolve(pathSpec);
  if (path !== ':memory:') {
    try {
      ensureDirectory(dirname(path));
      accessSync(dirname(path), constants.W_OK);
      for (const file of [path, analyticsPath(path)]) if (existsSync(file)) accessSync(file, constants.R_OK | constants.W_OK);
    } catch (err) {
      throw new StoreError(`cannot use SQLite database at ${path}: ${(err as Error).message}`);
    }
  }
  let sqlite: SqliteDatabase.Database;
  try {
    sqlite = new SqliteDatabase(path);
    sqlite.pragma('journal_mode = WAL');
    // NORMAL in WAL mode keeps every committed transaction across a process crash or kill;
    // only an OS crash or power loss can drop the last commits.
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    // Verification events go to a file of their own: the analytics writer's batches then never hold the
    // write lock that key updates and credit deductions on the main file wait for.
    sqlite.prepare(`ATTACH DATABASE ? AS ${ANALYTICS_SCHEMA}`).run(analyticsPath(path));
    sqlite.pragma(`${ANALYTICS_SCHEMA}.journal_mode = WAL`);
    sqlite.pragma(`${ANALYTICS_SCHEMA}.synchronous = NORMAL`);
  } catch (err) {
    throw new StoreError(`cannot open SQLite database at ${path}: ${(err as Error).message}`);
  }
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: sqlite }) });
  return {
    db,
    backend: { kind: 'sqlite', path, sqlite },
    close: () => db.destroy(),
  };
}

/** A pool of connections that work in `schema` (when given); the store's and the analytics writer's. */
export function postgresPool(url: string, schema: string | undefined, max: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 5000,
    options: schema ? `-c search_path=${schema}` : undefined,
  });
  pool.on('error', () => {
    // An idle client lost its connection; the pool replaces it on the next checkout.
  });
  return pool;
}

async function connectPostgres(url: string, options: ConnectOptions): Promise<Connection> {
  const schema = options.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new StoreError(`bad schema name ${schema}`);
  const pool = postgresPool(url, schema, options.poolSize ?? 10);
  try {
    const client = await pool.connect();
    try {
      // Two processes creating the schema at once can both pass IF NOT EXISTS; the loser's error is moot.
      if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`).catch((err) => {
        if (!isUniqueViolation(err)) throw err;
      });
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => {});
    const where = url.replace(/\/\/[^@/]*@/, '//***@');
    throw new StoreError(`cannot connect to PostgreSQL at ${where}: ${reason(err)}`);
  }
  const db = new Kysely<Database>({ dialect: new OwnSchemaPostgresDialect({ pool }) });
  return { db, backend: { kind: 'postgres', pool, url, schema }, close: () => db.destroy() };
}

// PostgreSQL advisory-lock key of `withWriteLock`: any fixed number no other lock of this database uses.
const WRITE_LOCK_KEY = 0x4c61_7463;

/**
 * Runs `fn` on one connection inside a transaction that holds a database-wide write lock from its first
 * statement: SQLite's `BEGIN IMMEDIATE`, or a PostgreSQL advisory lock. Two processes running the same
 * check-then-write sequence (migrating a new database, creating the first root key) then take turns
 * instead of both acting on what they read.
 */
export async function withWriteLock<T>(db: Db, kind: Backend['kind'], fn: (conn: Db) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    if (kind === 'sqlite') {
      await sql`begin immediate`.execute(conn);
    } else {
      await sql`begin`.execute(conn);
      await sql`select pg_advisory_xact_lock(${WRITE_LOCK_KEY})`.execute(conn);
    }
    try {
      const result = await fn(conn);
      await sql`commit`.execute(conn);
      return result;
    } catch (err) {
      await sql`rollback`.execute(conn).catch(() => {});
      throw err;
    }
  });
}

async function currentSchema(db: Db): Promise<string> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  if (!rows[0]?.schema) throw new StoreError('PostgreSQL has no current schema: check the search_path of the database user');
  return rows[0].schema;
}

/** Applies every pending migration, atomically. Safe to run from several processes at once. */
export async function migrate(db: Db, kind: Backend['kind']): Promise<void> {
  const run = async (target: Db): Promise<void> => {
    const schema = kind === 'postgres' ? await currentSchema(target) : undefined;
    // Under the write lock no other process creates it at the same moment, so this cannot race.
    if (schema) await sql`create schema if not exists ${sql.id(schema)}`.execute(target);
    const migrator = new Migrator({
      db: target,
      provider: { getMigrations: async () => migrations },
      allowUnorderedMigrations: true,
      // The transaction is withWriteLock's, below.
      disableTransactions: true,
      // Named, because without a schema the migrator takes bookkeeping tables in any other schema of the
      // database as its own, then fails to find them on the search path.
      migrationTableSchema: schema,
    });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error');
      throw new StoreError(
        `database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? String(error)}`,
      );
    }
  };
  // The migrator's own locking does nothing on SQLite and, on PostgreSQL, starts only after it has
  // created its bookkeeping tables, which fails when two processes meet a new database at once. Holding
  // the write lock around all of it serialises the processes, and one transaction makes each run atomic.
  await withWriteLock(db, kind, run);
  if (kind === 'sqlite') await restoreAnalyticsTables(db);
}

/**
 * The analytics file is a file of its own: restored from an older backup than the main file, deleted to
 * drop old events, or never copied, it lacks the tables the main file's migrations moved into it, and every
 * batch of events would fail. Empty tables are created in it then (the events it held are gone either way);
 * a file from before migration 0007 has its raw events split as that migration would have.
 */
async function restoreAnalyticsTables(db: Db): Promise<void> {
  const tables = async () => {
    const { rows } = await sql<{ name: string }>`
      select name from ${sql.id(ANALYTICS_SCHEMA)}.sqlite_master
      where type = 'table' and name in ('analytics_events', 'analytics_event_rows')`.execute(db);
    return new Set(rows.map((r) => r.name));
  };
  const found = await tables();
  if (found.has('analytics_event_rows')) return;
  const { rows: files } = await sql<{ file: string }>`
    select file from pragma_database_list where name = ${ANALYTICS_SCHEMA}`.execute(db);
  const file = files[0]?.file;
  // An in-memory store has no second file to lose.
  if (!file) return;
  if (found.has('analytics_events')) console.warn(`analytics file ${file} is older than the main file: bringing its tables up to date`);
  else console.warn(`analytics file ${file} had no analytics tables (lost, or restored apart from the main file): creating empty ones`);
  const own = new Kysely<any>({ dialect: new SqliteDialect({ database: new SqliteDatabase(file) }) });
  try {
    await own.transaction().execute(async (trx) => {
      if (!found.has('analytics_events')) await createAnalyticsTables(trx);
      await splitRawEvents(trx, 'main', 'sqlite');
    });
  } catch (err) {
    // Another process starting on the same store did it first (this runs after the write lock is
    // released: that lock's transaction holds the analytics file too).
    if (!(await tables()).has('analytics_event_rows')) throw err;
  } finally {
    await own.destroy();
  }
}

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
