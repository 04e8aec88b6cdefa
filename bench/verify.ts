/**
 * verifyKey over HTTP on loopback against a bare node:http baseline, in one command:
 *   npm run bench:verify            (BENCH_DURATION=<s> per run, default 10; BENCH_BULK=<n> keys, default 1000000)
 * Each server runs in its own process; the load generator (autocannon, 50 connections) runs here.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runLoad, printTable, type LoadResult, type Row } from './lib/load.ts';
import { spawnUntil, type Spawned } from './lib/process.ts';
import { BENCH_ROOT_KEY, bulkKey, seedBulkStore, seedSmallStore } from './seed.ts';

const root = resolve(import.meta.dirname, '..');
const tmp = join(root, '.bench-tmp');
const duration = Number(process.env.BENCH_DURATION ?? 10);
const bulkCount = Number(process.env.BENCH_BULK ?? 1_000_000);
const connections = 50;
const auth = { authorization: `Bearer ${BENCH_ROOT_KEY}` };

let nextPort = 18_400 + Math.floor(Math.random() * 500);

async function startLatchkey(databaseUrl: string): Promise<{ proc: Spawned; url: string }> {
  const port = nextPort++;
  const proc = await spawnUntil(process.execPath, [join(root, 'bin/latchkey'), 'serve'], /listening/i, {
    PORT: String(port),
    HOST: '127.0.0.1',
    LATCHKEY_DATABASE_URL: databaseUrl,
    LATCHKEY_LOG_LEVEL: 'info',
  });
  return { proc, url: `http://127.0.0.1:${port}` };
}

async function startBaseline(keys: string[]): Promise<{ proc: Spawned; url: string }> {
  const file = join(tmp, 'baseline-keys.txt');
  writeFileSync(file, keys.join('\n'));
  const port = nextPort++;
  const proc = await spawnUntil(process.execPath, ['--import', 'tsx', join(root, 'bench/lib/baselineServer.ts'), String(port), file], /listening/);
  return { proc, url: `http://127.0.0.1:${port}` };
}

const verifyBodies = (keys: string[]) => keys.map((key) => JSON.stringify({ key }));

async function load(url: string, bodies: string[], headers: Record<string, string> = auth, seconds = duration): Promise<LoadResult> {
  return runLoad({ url, bodies, headers, connections, duration: seconds });
}

/** Checks one answer before measuring, so a broken setup cannot pass as fast. */
async function expectCode(url: string, key: string, code: string): Promise<void> {
  const res = await fetch(`${url}/v2/keys.verifyKey`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify({ key }),
  });
  const body = (await res.json()) as { data?: { code?: string } };
  if (body.data?.code !== code) throw new Error(`expected ${code} for a benchmark key, got ${JSON.stringify(body)}`);
}

async function main(): Promise<void> {
  mkdirSync(tmp, { recursive: true });
  const rows: Row[] = [];

  const small = await seedSmallStore(tmp);
  const baseline = await startBaseline([...small.plainKeys, ...small.identityKeys]);
  const base = await load(baseline.url, verifyBodies(small.plainKeys));
  await baseline.proc.stop();
  rows.push({ scenario: 'baseline: bare node:http, SHA-256 + Map', result: base });

  const lk = await startLatchkey(small.databaseUrl);
  try {
    await expectCode(`${lk.url}`, small.plainKeys[0], 'VALID');
    await expectCode(`${lk.url}`, small.identityKeys[0], 'VALID');
    // One unmeasured pass warms the cache, as in steady state.
    await load(`${lk.url}/v2/keys.verifyKey`, verifyBodies([...small.plainKeys, ...small.identityKeys]), auth, 2);
    const plain = await load(`${lk.url}/v2/keys.verifyKey`, verifyBodies(small.plainKeys));
    rows.push({ scenario: 'verifyKey: plain key', result: plain, baseline: base });
    const identity = await load(`${lk.url}/v2/keys.verifyKey`, verifyBodies(small.identityKeys));
    rows.push({ scenario: 'verifyKey: identity + autoApply limit + credits', result: identity, baseline: base });

    const create = await load(`${lk.url}/v2/keys.createKey`, [JSON.stringify({ apiId: small.apiId })]);
    rows.push({ scenario: 'createKey', result: create });
  } finally {
    await lk.proc.stop();
  }

  if (bulkCount > 0) {
    const bulk = await seedBulkStore(tmp, bulkCount);
    const server = await startLatchkey(bulk.databaseUrl);
    try {
      // Cold: keys nobody asked for yet, each a cache miss until the run wraps around.
      const coldKeys = Array.from({ length: Math.min(bulkCount / 2, 300_000) }, (_, i) => bulkKey(bulkCount - 1 - i));
      await expectCode(server.url, coldKeys[coldKeys.length - 1], 'VALID');
      const cold = await load(`${server.url}/v2/keys.verifyKey`, verifyBodies(coldKeys));
      rows.push({ scenario: `verifyKey: ${bulkCount} keys, cold cache`, result: cold, baseline: base });
      // Warm: a working set of 200,000 keys, loaded once before measuring.
      const warmKeys = Array.from({ length: Math.min(bulkCount / 2, 200_000) }, (_, i) => bulkKey(i * 2));
      const warmBodies = verifyBodies(warmKeys);
      await load(`${server.url}/v2/keys.verifyKey`, warmBodies, auth, Math.max(5, Math.ceil(warmKeys.length / 4000)));
      const warm = await load(`${server.url}/v2/keys.verifyKey`, warmBodies);
      rows.push({ scenario: `verifyKey: ${bulkCount} keys, warm cache`, result: warm, baseline: base });
      const plainRow = rows.find((r) => r.scenario === 'verifyKey: plain key')!;
      console.log(`warm ${bulkCount} keys vs plain small store: ${(warm.rps / plainRow.result.rps).toFixed(2)}x req/s`);
    } finally {
      await server.proc.stop();
    }
  }

  const table = printTable(`verifyKey, ${connections} connections, ${duration} s per run`, rows);
  writeFileSync(join(tmp, 'verify-last.md'), table + '\n');
}

await main();
