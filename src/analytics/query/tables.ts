/** The tables a query may name, the columns each exposes, and where each is stored. */

export type SqlType = 'int' | 'float' | 'string' | 'datetime' | 'date' | 'interval' | 'array' | 'bool' | 'null' | 'unknown';

export interface TableSpec {
  /** Physical table holding the rows. */
  physical: string;
  /** Bucket size of a rollup; the raw table has none. */
  granularity?: 'minute' | 'hour' | 'day' | 'month';
  /** Exposed columns in order; `expr` is how the column is read from the physical table when not a plain copy. */
  columns: { name: string; type: SqlType; expr?: string }[];
  /**
   * A table holding some of the columns by itself, read instead of `physical` (a view with a join) by a
   * query that uses none of the others.
   */
  rows?: { physical: string; columns: string[] };
  /**
   * PostgreSQL indexes these rows by the workspace's key (see core/workspaceKey.ts): the caller's
   * workspace is then also selected by its key, which the index can use, besides by its id.
   */
  postgresWorkspaceKey?: boolean;
  /**
   * PostgreSQL stores these rows in packs of up to a thousand (see migration 0011): the rows' view also
   * has each pack's time bounds, by which the translator selects the packs a query's times can reach.
   */
  postgresPacks?: boolean;
}

const RAW_COLUMNS: TableSpec['columns'] = [
  { name: 'request_id', type: 'string' },
  { name: 'time', type: 'int' },
  { name: 'workspace_id', type: 'string' },
  { name: 'key_space_id', type: 'string' },
  { name: 'identity_id', type: 'string' },
  { name: 'external_id', type: 'string' },
  { name: 'key_id', type: 'string' },
  { name: 'outcome', type: 'string' },
  { name: 'region', type: 'string' },
  { name: 'source', type: 'string', expr: "CAST('api' AS TEXT)" },
  { name: 'tags', type: 'array' },
  { name: 'spent_credits', type: 'int' },
  { name: 'latency', type: 'float' },
];

function rollupColumns(timeType: SqlType): TableSpec['columns'] {
  return [
    { name: 'time', type: timeType },
    { name: 'workspace_id', type: 'string' },
    { name: 'key_space_id', type: 'string' },
    { name: 'identity_id', type: 'string' },
    { name: 'external_id', type: 'string' },
    { name: 'key_id', type: 'string' },
    { name: 'outcome', type: 'string' },
    { name: 'source', type: 'string', expr: "CAST('api' AS TEXT)" },
    { name: 'tags', type: 'array' },
    { name: 'count', type: 'int' },
    { name: 'spent_credits', type: 'int' },
  ];
}

export const TABLES: Record<string, TableSpec> = {
  key_verifications_v1: {
    physical: 'analytics_events',
    columns: RAW_COLUMNS,
    rows: { physical: 'analytics_event_rows', columns: ['request_id', 'time', 'workspace_id', 'source', 'spent_credits', 'latency'] },
    postgresWorkspaceKey: true,
    postgresPacks: true,
  },
  key_verifications_per_minute_v1: { physical: 'analytics_per_minute', granularity: 'minute', columns: rollupColumns('datetime') },
  key_verifications_per_hour_v1: { physical: 'analytics_per_hour', granularity: 'hour', columns: rollupColumns('datetime') },
  key_verifications_per_day_v1: { physical: 'analytics_per_day', granularity: 'day', columns: rollupColumns('date') },
  key_verifications_per_month_v1: { physical: 'analytics_per_month', granularity: 'month', columns: rollupColumns('date') },
};

export function tableSpec(name: string): TableSpec | undefined {
  return Object.hasOwn(TABLES, name) ? TABLES[name] : undefined;
}
