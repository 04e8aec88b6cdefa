import type { Backend } from '../../store/connection.ts';
import { parseQuery } from './parser.ts';
import { createAnalyticsReader, type AnalyticsReader } from './reader.ts';
import { formatDate, formatDateTime } from './time.ts';
import { translate, type Access, type OutputColumn } from './translate.ts';

export class RowsLimitExceeded extends Error {}

export interface QueryLimits {
  timeoutMs: number;
  maxRows: number;
  /** Days read when a query filters on no time column. */
  defaultWindowDays: number;
}

/** Parses, rewrites and runs analytics queries for one store. */
export class AnalyticsQueries {
  private readonly reader: AnalyticsReader;
  private readonly dialect: 'sqlite' | 'postgres';

  constructor(
    backend: Backend,
    private readonly limits: QueryLimits,
  ) {
    this.reader = createAnalyticsReader(backend);
    this.dialect = backend.kind;
  }

  /** The rows the query selects among those `access` allows; throws QueryError, QueryTimeout, QueryRejected or RowsLimitExceeded. */
  async run(text: string, access: Access, now: number): Promise<Record<string, unknown>[]> {
    const parsed = parseQuery(text);
    const { sql, params, columns } = translate(parsed, {
      dialect: this.dialect,
      access,
      now,
      defaultWindowDays: this.limits.defaultWindowDays,
      maxRows: this.limits.maxRows,
    });
    const rows = await this.reader.read(sql, params, { timeoutMs: this.limits.timeoutMs, maxRows: this.limits.maxRows });
    if (rows.length > this.limits.maxRows) {
      throw new RowsLimitExceeded(`the query returns more than ${this.limits.maxRows} rows`);
    }
    return rows.map((row) => toRecord(row, columns));
  }

  close(): Promise<void> {
    return this.reader.close();
  }
}

function toRecord(row: unknown[], columns: OutputColumn[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  columns.forEach((c, i) => {
    out[c.name] = toWire(row[i], c.type);
  });
  return out;
}

/** Values as ClickHouse shows them: times as UTC text, truth values as 0/1, arrays as arrays. */
function toWire(value: unknown, type: OutputColumn['type']): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'datetime':
      return typeof value === 'number' ? formatDateTime(value) : value;
    case 'date':
      return typeof value === 'number' ? formatDate(value) : value;
    case 'bool':
      return typeof value === 'boolean' ? (value ? 1 : 0) : value;
    case 'array':
      return typeof value === 'string' ? JSON.parse(value) : value;
    default:
      return typeof value === 'bigint' ? Number(value) : value;
  }
}
