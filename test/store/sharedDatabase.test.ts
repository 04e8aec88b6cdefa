import { it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { randomAlphanumeric } from '../../src/core/ids.ts';
import { openStore } from '../../src/store/index.ts';
import { POSTGRES_URL, postgresUnavailable } from '../harness.ts';

const unavailable = await postgresUnavailable();
if (unavailable && process.env.CI) throw new Error(`CI requires PostgreSQL: ${unavailable}`);

it(
  'starts on a new schema while other schemas of the same database are created and dropped',
  { skip: unavailable ? `SKIPPED: ${unavailable}` : undefined },
  async () => {
    // Another tenant of the database, churning schemas of its own the whole time.
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    let churning = true;
    let dropped = 0;
    const churn = (async () => {
      while (churning) {
        const other = `churn_${randomAlphanumeric(10).toLowerCase()}`;
        await admin.query(`CREATE SCHEMA ${other}`);
        await admin.query(`CREATE TABLE ${other}.t (id serial primary key, v text)`);
        await admin.query(`DROP SCHEMA ${other} CASCADE`);
        dropped++;
      }
    })();
    const ours: string[] = [];
    try {
      for (let i = 0; i < 12; i++) {
        const schema = `t_${randomAlphanumeric(12).toLowerCase()}`;
        ours.push(schema);
        const store = await openStore(POSTGRES_URL, { schema, poolSize: 2 });
        const ws = await store.workspaces.create('shared');
        assert.ok(ws.id.startsWith('ws_'));
        await store.close();
      }
    } finally {
      churning = false;
      await churn;
      for (const schema of ours) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
    assert.ok(dropped > 12, `other schemas dropped meanwhile: ${dropped}`);
  },
);
