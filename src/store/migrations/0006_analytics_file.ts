import { Kysely, PostgresAdapter, sql } from 'kysely';
import { ANALYTICS_SCHEMA, WRITE_LOCK_TABLE } from '../sqliteFiles.ts';
import { ROLLUP_TABLES } from './0005_analytics.ts';

const ANALYTICS_TABLES = ['analytics_events', ...Object.values(ROLLUP_TABLES)];

interface SchemaRow {
  type: 'table' | 'index';
  name: string;
  sql: string | null;
}

/**
 * SQLite only: creates the table transactions lock the main file with, and moves the analytics tables from
 * the main file into the attached analytics file (see sqliteFiles.ts), with their indexes and rows. A long
 * analytics batch then holds the analytics file's write lock only, and no credit deduction waits for it.
 * PostgreSQL locks rows, not the database, so its tables stay where they are.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return;
  // What ImmediateSqliteDriver takes the main file's write lock with.
  await sql`create table if not exists main.${sql.id(WRITE_LOCK_TABLE)} (id integer primary key)`.execute(db);
  const { rows } = await sql<SchemaRow>`
    select type, name, sql from main.sqlite_master
    where tbl_name in (${sql.join(ANALYTICS_TABLES)}) and sql is not null
    order by case type when 'table' then 0 else 1 end, name`.execute(db);
  for (const row of rows) {
    const quoted = `"${row.name}"`;
    // The statements are the ones 0005 had Kysely generate: `create table "name" (...)` and
    // `create index "name" on "table" (...)`; only the object's own name takes the schema.
    const at = row.sql!.indexOf(quoted);
    if (at < 0) throw new Error(`unexpected definition of ${row.name}: ${row.sql}`);
    const ddl = `${row.sql!.slice(0, at)}${ANALYTICS_SCHEMA}.${quoted}${row.sql!.slice(at + quoted.length)}`;
    await sql.raw(ddl.replace(/^create (table|index) /i, (m) => `${m}if not exists `)).execute(db);
  }
  for (const table of ANALYTICS_TABLES) {
    const present = rows.some((r) => r.type === 'table' && r.name === table);
    if (!present) continue;
    await sql.raw(`insert into ${ANALYTICS_SCHEMA}."${table}" select * from main."${table}"`).execute(db);
    await sql.raw(`drop table main."${table}"`).execute(db);
  }
}

export async function down(): Promise<void> {
  // Moving the tables back would gain nothing: every query reaches them through the attachment either way.
}
