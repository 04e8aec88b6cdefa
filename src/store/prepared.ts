import { CompiledQuery } from 'kysely';
import type SqliteDatabase from 'better-sqlite3';
import type { Backend, Db } from './connection.ts';

/**
 * Fixed SQL statements for hot paths, written once with `?` placeholders. On SQLite each statement is
 * prepared once and run synchronously, except while a transaction is open on the shared connection: then
 * it queues behind that transaction like any other query, so it never becomes part of it. On PostgreSQL
 * the placeholders become `$n` and the statement goes through the pool, skipping query building.
 */
export class PreparedQueries {
  private readonly sqlite: SqliteDatabase.Database | undefined;
  private readonly statements = new Map<string, SqliteDatabase.Statement>();
  private readonly postgresText = new Map<string, string>();

  constructor(private readonly db: Db, backend: Backend) {
    this.sqlite = backend.kind === 'sqlite' ? backend.sqlite : undefined;
  }

  /** Rows of a query, or of a write with RETURNING; an empty array for a write without it. */
  async rows<T>(text: string, params: unknown[]): Promise<T[]> {
    if (this.sqlite && !this.sqlite.inTransaction) {
      let statement = this.statements.get(text);
      if (!statement) {
        statement = this.sqlite.prepare(text);
        this.statements.set(text, statement);
      }
      if (statement.reader) return statement.all(...params) as T[];
      statement.run(...params);
      return [];
    }
    const result = await this.db.executeQuery<T>(CompiledQuery.raw(this.dialectText(text), params));
    return result.rows as T[];
  }

  async first<T>(text: string, params: unknown[]): Promise<T | undefined> {
    return (await this.rows<T>(text, params))[0];
  }

  private dialectText(text: string): string {
    if (this.sqlite) return text;
    let converted = this.postgresText.get(text);
    if (converted === undefined) {
      let n = 0;
      converted = text.replace(/\?/g, () => `$${++n}`);
      this.postgresText.set(text, converted);
    }
    return converted;
  }
}
