import { after, before } from 'node:test';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { POSTGRES_URL } from '../harness.ts';

/**
 * A PostgreSQL schema of its own for one describe block, created before its tests and dropped after, with
 * a pool and a Kysely instance whose search path is that schema. Unless `skip`.
 */
export function scratchSchema(prefix: string, skip: unknown): { name: string; pool: () => pg.Pool; db: () => Kysely<any> } {
  const name = `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
  let pool: pg.Pool;
  let db: Kysely<any>;
  before(async () => {
    if (skip) return;
    pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2, options: `-c search_path=${name}` });
    await pool.query(`CREATE SCHEMA ${name}`);
    db = new Kysely({ dialect: new PostgresDialect({ pool }) });
  });
  after(async () => {
    if (skip) return;
    await pool.query(`DROP SCHEMA ${name} CASCADE`);
    await db.destroy();
  });
  return { name, pool: () => pool, db: () => db };
}
