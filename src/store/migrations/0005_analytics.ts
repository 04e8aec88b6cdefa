import { Kysely, PostgresAdapter, sql } from 'kysely';

/** Rollup granularities, each with its own table. */
export const ROLLUP_TABLES = {
  minute: 'analytics_per_minute',
  hour: 'analytics_per_hour',
  day: 'analytics_per_day',
  month: 'analytics_per_month',
} as const;

/**
 * Raw verification events plus one rollup table per granularity. Tags are a native text[] on PostgreSQL and
 * a JSON array text on SQLite; the analytics store is the only code that knows which.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const tagsType = postgres ? sql`text[]` : sql`text`;

  await db.schema
    .createTable('analytics_events')
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('time', 'bigint', (c) => c.notNull())
    .addColumn('workspace_id', 'text', (c) => c.notNull())
    .addColumn('key_space_id', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('identity_id', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('tags', tagsType, (c) => c.notNull())
    .addColumn('spent_credits', 'bigint', (c) => c.notNull())
    .addColumn('latency', 'double precision', (c) => c.notNull())
    .execute();
  // The raw table takes every verification, so it carries one index only: queries and pruning go by
  // (workspace, time); per-identity questions are answered by the rollups.
  await db.schema.createIndex('analytics_events_ws_time').on('analytics_events').columns(['workspace_id', 'time']).execute();

  for (const table of Object.values(ROLLUP_TABLES)) {
    await db.schema
      .createTable(table)
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('identity_id', 'text', (c) => c.notNull())
      .addColumn('time', 'bigint', (c) => c.notNull())
      .addColumn('key_space_id', 'text', (c) => c.notNull())
      .addColumn('key_id', 'text', (c) => c.notNull())
      .addColumn('external_id', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('tags', tagsType, (c) => c.notNull())
      .addColumn('count', 'bigint', (c) => c.notNull())
      .addColumn('spent_credits', 'bigint', (c) => c.notNull())
      // The key leads with (workspace, identity, time): per-identity usage over a period is one range scan.
      .addPrimaryKeyConstraint(`${table}_pk`, [
        'workspace_id', 'identity_id', 'time', 'key_space_id', 'key_id', 'external_id', 'outcome', 'tags',
      ])
      .execute();
    await db.schema.createIndex(`${table}_ws_time`).on(table).columns(['workspace_id', 'time']).execute();
    await db.schema
      .createIndex(`${table}_ws_external_time`)
      .on(table)
      .columns(['workspace_id', 'external_id', 'time'])
      .execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of Object.values(ROLLUP_TABLES)) await db.schema.dropTable(table).execute();
  await db.schema.dropTable('analytics_events').execute();
}

