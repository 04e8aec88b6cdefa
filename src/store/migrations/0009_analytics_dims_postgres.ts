import { Kysely, PostgresAdapter } from 'kysely';
import { splitRawEvents } from './0007_analytics_dims.ts';

/** PostgreSQL: raw events split into event rows and dims, as 0007 did on SQLite (see there). */
export async function up(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  await splitRawEvents(db, undefined, 'postgres');
}

export async function down(): Promise<void> {
  // As 0007.
}
