/**
 * Test data for the verify benchmark, written straight into a SQLite store: fast bulk inserts in one
 * transaction, not HTTP calls. The root key is fixed so a reused database needs no secret kept aside.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashKey } from '../src/core/hash.ts';
import { newId } from '../src/core/ids.ts';
import { ALL_ROOT_PERMISSIONS } from '../src/core/rootPermissions.ts';
import { openStore, type Store } from '../src/store/index.ts';
import { storeFiles } from '../src/store/sqliteFiles.ts';

export const BENCH_ROOT_KEY = 'lk_root_benchmark_only';

export interface Seeded {
  databaseUrl: string;
  apiId: string;
  /** Plain keys: no identity, no limits, no credits. */
  plainKeys: string[];
  /** Keys of identities with an auto-applied limit, each key with credits. */
  identityKeys: string[];
  /** Keys of identities with an auto-applied limit, without credits. */
  limitKeys: string[];
  /** How many bulk keys the store holds; their plaintext is `bulkKey(i)`. */
  bulkCount: number;
}

export const bulkKey = (i: number) => `bk_${i.toString(36).padStart(6, '0')}_benchmark`;

async function baseRows(store: Store): Promise<{ workspaceId: string; apiId: string; keyspaceId: string }> {
  const workspace = await store.workspaces.create('bench');
  await store.db
    .insertInto('root_keys')
    .values({
      id: newId('key'),
      workspace_id: workspace.id,
      hash: hashKey(BENCH_ROOT_KEY),
      start: 'lk_root',
      name: 'bench',
      permissions: JSON.stringify(ALL_ROOT_PERMISSIONS),
      created_at: Date.now(),
      deleted_at: null,
    })
    .execute();
  const api = await store.apis.create(workspace.id, 'bench');
  return { workspaceId: workspace.id, apiId: api.id, keyspaceId: api.keyspaceId };
}

/** Inserts `count` keys `bulkKey(0..count-1)` with one prepared statement inside one transaction. */
function bulkInsert(store: Store, workspaceId: string, keyspaceId: string, count: number): void {
  if (store.backend.kind !== 'sqlite') throw new Error('bulk seeding writes SQLite directly');
  const sqlite = store.backend.sqlite;
  const insert = sqlite.prepare(
    `INSERT INTO keys (id, workspace_id, keyspace_id, hash, start, enabled, created_at) VALUES (?, ?, ?, ?, ?, 1, ?)`,
  );
  const now = Date.now();
  const chunk = 50_000;
  for (let from = 0; from < count; from += chunk) {
    sqlite.transaction(() => {
      for (let i = from; i < Math.min(count, from + chunk); i++) {
        const key = bulkKey(i);
        insert.run(newId('key'), workspaceId, keyspaceId, hashKey(key), key.slice(0, 7), now);
      }
    })();
  }
}

async function seedSmall(store: Store, workspaceId: string, apiId: string, keyspaceId: string) {
  const plainKeys: string[] = [];
  const identityKeys: string[] = [];
  const limitKeys: string[] = [];
  const now = Date.now();
  const { generateKey } = await import('../src/core/hash.ts');
  for (let i = 0; i < 1000; i++) {
    const g = generateKey('bench', 16);
    await store.keys.create({ workspaceId, keyspaceId, hash: g.hash, start: g.start }, now);
    plainKeys.push(g.key);
  }
  for (let i = 0; i < 100; i++) {
    const externalId = `bench-customer-${i}`;
    await store.identities.create(workspaceId, externalId, { plan: 'bench' }, [
      { name: 'requests', limit: 1_000_000, duration: 60_000, autoApply: true },
    ]);
    for (let j = 0; j < 10; j++) {
      const g = generateKey('bench', 16);
      await store.keys.create(
        { workspaceId, keyspaceId, hash: g.hash, start: g.start, externalId, remaining: 1_000_000_000_000 },
        now,
      );
      identityKeys.push(g.key);
    }
  }
  for (let i = 0; i < 100; i++) {
    const externalId = `bench-limited-${i}`;
    await store.identities.create(workspaceId, externalId, { plan: 'bench' }, [
      { name: 'requests', limit: 1_000_000, duration: 60_000, autoApply: true },
    ]);
    for (let j = 0; j < 10; j++) {
      const g = generateKey('bench', 16);
      await store.keys.create({ workspaceId, keyspaceId, hash: g.hash, start: g.start, externalId }, now);
      limitKeys.push(g.key);
    }
  }
  return { plainKeys, identityKeys, limitKeys };
}

/** A fresh store with the small scenarios' keys. */
export async function seedSmallStore(dir: string): Promise<Seeded> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'verify-small.db');
  for (const file of storeFiles(path)) rmSync(file, { force: true });
  const databaseUrl = `sqlite:${path}`;
  const store = await openStore(databaseUrl);
  try {
    const base = await baseRows(store);
    const keys = await seedSmall(store, base.workspaceId, base.apiId, base.keyspaceId);
    return { databaseUrl, apiId: base.apiId, ...keys, bulkCount: 0 };
  } finally {
    await store.close();
  }
}

/** A store with `count` bulk keys, built once and reused from disk by later runs. */
export async function seedBulkStore(dir: string, count: number): Promise<Seeded> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `verify-${count}.db`);
  const manifest = join(dir, `verify-${count}.json`);
  const databaseUrl = `sqlite:${path}`;
  if (existsSync(manifest) && existsSync(path)) {
    const saved = JSON.parse(readFileSync(manifest, 'utf8')) as { apiId: string };
    return { databaseUrl, apiId: saved.apiId, plainKeys: [], identityKeys: [], limitKeys: [], bulkCount: count };
  }
  for (const file of storeFiles(path)) rmSync(file, { force: true });
  const store = await openStore(databaseUrl);
  try {
    const base = await baseRows(store);
    const started = Date.now();
    bulkInsert(store, base.workspaceId, base.keyspaceId, count);
    console.log(`seeded ${count} keys in ${((Date.now() - started) / 1000).toFixed(1)} s (kept in ${path})`);
    writeFileSync(manifest, JSON.stringify({ apiId: base.apiId }));
    return { databaseUrl, apiId: base.apiId, plainKeys: [], identityKeys: [], limitKeys: [], bulkCount: count };
  } finally {
    await store.close();
  }
}
