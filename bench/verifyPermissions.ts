/**
 * What the permission step costs verifyKey over HTTP: keys without RBAC, keys holding a role, and the same keys
 * verified with a permission query. Run: `node --import tsx bench/verifyPermissions.ts`
 * (BENCH_DURATION=<s> per run, default 10; BENCH_ROUNDS=<n>, default 3). The server runs in its own process.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { median, runLoad, printTable, type LoadResult, type Row } from './lib/load.ts';
import { spawnUntil, SERVER_NODE_FLAGS } from './lib/process.ts';
import { BENCH_ROOT_KEY, seedSmallStore } from './seed.ts';
import { callOperation } from './lib/api.ts';

const root = resolve(import.meta.dirname, '..');
const tmp = join(root, '.bench-tmp', 'rbac');
const duration = Number(process.env.BENCH_DURATION ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const KEYS = 200;
const QUERY = 'documents.read AND (documents.write OR admin)';
const auth = { authorization: `Bearer ${BENCH_ROOT_KEY}` };
const call = (url: string, operation: string, body: unknown) => callOperation(url, operation, body, BENCH_ROOT_KEY);


async function main(): Promise<void> {
  mkdirSync(tmp, { recursive: true });
  const seeded = await seedSmallStore(tmp);
  const port = 19_000 + Math.floor(Math.random() * 500);
  const server = await spawnUntil(process.execPath, [...SERVER_NODE_FLAGS, join(root, 'bin/latchkey'), 'serve'], /listening/i, {
    PORT: String(port),
    HOST: '127.0.0.1',
    LATCHKEY_DATABASE_URL: seeded.databaseUrl,
    LATCHKEY_LOG_LEVEL: 'info',
  });
  const url = `http://127.0.0.1:${port}`;
  const plainKeys = seeded.plainKeys.slice(0, KEYS);
  const roleKeys = seeded.plainKeys.slice(KEYS, 2 * KEYS);
  const measured = new Map<string, LoadResult[]>();
  const scenarios = {
    plain: `${KEYS} keys without permissions, no query`,
    role: `${KEYS} keys with a role of 2 permissions, no query`,
    query: `same keys, query '${QUERY}'`,
  };
  try {
    await call(url, 'permissions.createRole', { name: 'editor', permissions: ['documents.read', 'documents.write'] });
    for (const key of roleKeys) {
      const { keyId } = await call(url, 'keys.verifyKey', { key });
      await call(url, 'keys.addRoles', { keyId, roles: ['editor'] });
    }
    const check = await call(url, 'keys.verifyKey', { key: roleKeys[0], permissions: QUERY });
    if (check.code !== 'VALID') throw new Error(`expected VALID, got ${JSON.stringify(check)}`);

    const bodies = {
      plain: plainKeys.map((key) => JSON.stringify({ key })),
      role: roleKeys.map((key) => JSON.stringify({ key })),
      query: roleKeys.map((key) => JSON.stringify({ key, permissions: QUERY })),
    };
    const target = `${url}/v2/keys.verifyKey`;
    // One unmeasured pass warms the cache and the JIT.
    for (const list of Object.values(bodies)) await runLoad({ url: target, bodies: list, headers: auth, duration: 3 });
    for (let round = 0; round < rounds; round++) {
      for (const [name, list] of Object.entries(bodies) as [keyof typeof scenarios, string[]][]) {
        const result = await runLoad({ url: target, bodies: list, headers: auth, duration });
        measured.set(scenarios[name], [...(measured.get(scenarios[name]) ?? []), result]);
        console.log(`${scenarios[name]}: ${Math.round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms`);
      }
    }
  } finally {
    await server.stop();
  }
  const base = median(measured.get(scenarios.plain)!);
  const rows: Row[] = [...measured].map(([scenario, results]) => ({
    scenario,
    result: median(results),
    baseline: scenario === scenarios.plain ? undefined : base,
  }));
  const text = printTable(`verifyKey with permissions, 50 connections, ${duration} s per run, median of ${rounds} rounds`, rows);
  writeFileSync(join(tmp, 'verify-permissions-last.md'), text + '\n');
}

await main();
