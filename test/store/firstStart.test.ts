import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { bootstrap } from '../../src/app.ts';
import { hashKey } from '../../src/core/hash.ts';
import { randomAlphanumeric } from '../../src/core/ids.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { backends, POSTGRES_URL } from '../harness.ts';

/**
 * Several nodes meeting one new database at once: migrations run once, and exactly one of them creates
 * the default workspace and its root key. (Separate processes are covered by test/cli.test.ts.)
 */

async function freshStores(backend: 'sqlite' | 'postgres', count: number): Promise<{ stores: Store[]; cleanup(): Promise<void> }> {
  if (backend === 'sqlite') {
    // better-sqlite3 blocks its thread while it waits for a lock, so one process shares one connection.
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-first-'));
    const store = await openStore(`sqlite:${join(dir, 'first.db')}`);
    return {
      stores: Array.from({ length: count }, () => store),
      cleanup: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `t_${randomAlphanumeric(12).toLowerCase()}`;
  const stores = await Promise.all(Array.from({ length: count }, () => openStore(POSTGRES_URL, { schema, poolSize: 2 })));
  return {
    stores,
    cleanup: async () => {
      await Promise.all(stores.map((s) => s.close()));
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`DROP SCHEMA ${schema} CASCADE`);
      await client.end();
    },
  };
}

for (const backend of await backends()) {
  it(`creates exactly one first root key when starts race [${backend.name}]`, { skip: backend.skip }, async () => {
    const { stores, cleanup } = await freshStores(backend.name, 4);
    try {
      const results = await Promise.all(stores.flatMap((s) => [bootstrap(s), bootstrap(s)]));
      const created = results.filter((r) => r !== undefined);
      assert.equal(created.length, 1);
      assert.equal(await stores[0].workspaces.count(), 1);
      const key = await stores[0].rootKeys.findByHash(hashKey(created[0]!.key));
      assert.equal(key?.workspaceId, created[0]!.workspaceId);
      assert.equal(await bootstrap(stores[1]), undefined);
    } finally {
      await cleanup();
    }
  });
}
