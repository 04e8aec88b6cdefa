/**
 * verifyKey over HTTP on loopback against a bare node:http baseline, in one command:
 *   npm run bench:verify   (BENCH_DURATION=<s> per run, default 10; BENCH_ROUNDS=<n>, default 3;
 *                           BENCH_BULK=<n> keys in the large store, default 1000000, 0 to skip it)
 * Each server runs in its own process; the load generator (wrk if installed, else autocannon; 50 connections)
 * is driven from here.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadTool, median, middle, runLoad, printTable, type LoadResult, type Row } from './lib/load.ts';
import { spawnUntil, type Spawned, SERVER_NODE_FLAGS } from './lib/process.ts';
import { BENCH_ROOT_KEY, bulkKey, seedBulkStore, seedSmallStore } from './seed.ts';

const root = resolve(import.meta.dirname, '..');
const tmp = join(root, '.bench-tmp');
const duration = Number(process.env.BENCH_DURATION ?? 10);
const bulkCount = Number(process.env.BENCH_BULK ?? 1_000_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = 50;
/** Distinct keys of the large warm scenario, each asked for about once every ten seconds. */
const warmCount = Math.min(bulkCount / 2, 200_000);

const SCENARIOS = {
  baseline: 'baseline: bare node:http, SHA-256 + Map',
  plain: 'verifyKey: plain key',
  limit: 'verifyKey: identity + autoApply limit',
  identity: 'verifyKey: identity + autoApply limit + credits',
  warm: `verifyKey: ${bulkCount} keys, warm cache, ${warmCount} active keys`,
  warmSame: `verifyKey: ${bulkCount} keys, warm cache, 1000 active keys`,
  cold: `verifyKey: ${bulkCount} keys, cold cache`,
  create: 'createKey',
};
const auth = { authorization: `Bearer ${BENCH_ROOT_KEY}` };

let nextPort = 18_400 + Math.floor(Math.random() * 500);

async function startLatchkey(databaseUrl: string): Promise<{ proc: Spawned; url: string }> {
  const port = nextPort++;
  const proc = await spawnUntil(process.execPath, [...SERVER_NODE_FLAGS, join(root, 'bin/latchkey'), 'serve'], /listening/i, {
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

/** Every measured answer must say the key is valid (or, for createKey, carry a key). */
async function load(url: string, bodies: string[], headers: Record<string, string> = auth, seconds = duration, expect = '"valid":true'): Promise<LoadResult> {
  return runLoad({ url, bodies, headers, connections, duration: seconds, expect });
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
  const small = await seedSmallStore(tmp);
  const bulk = bulkCount > 0 ? await seedBulkStore(tmp, bulkCount) : undefined;

  const baseline = await startBaseline([...small.plainKeys, ...small.identityKeys]);
  const lk = await startLatchkey(small.databaseUrl);
  const lkBulk = bulk ? await startLatchkey(bulk.databaseUrl) : undefined;
  const measured = new Map<string, LoadResult[]>();
  const note = (scenario: string, result: LoadResult) => {
    measured.set(scenario, [...(measured.get(scenario) ?? []), result]);
    console.log(`${scenario}: ${Math.round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms`);
  };
  try {
    await expectCode(lk.url, small.plainKeys[0], 'VALID');
    await expectCode(lk.url, small.identityKeys[0], 'VALID');
    // One unmeasured pass warms the cache (and the JIT), as in steady state.
    await load(`${lk.url}/v2/keys.verifyKey`, verifyBodies([...small.plainKeys, ...small.identityKeys]), auth, 3);
    await load(baseline.url, verifyBodies(small.plainKeys), auth, 3);

    // The bulk store: a warm working set of 200,000 keys, and disjoint slices of never-asked keys per round.
    const warmKeys = Array.from({ length: warmCount }, (_, i) => bulkKey(i * 2));
    // As many active keys as the small store's plain scenario: only the store's size differs.
    const sameActive = warmKeys.slice(0, small.plainKeys.length);
    const coldSlice = Math.floor(Math.min(bulkCount * 0.6, 600_000) / rounds);
    const coldKeys = (round: number) =>
      Array.from({ length: coldSlice }, (_, i) => bulkKey(bulkCount - 1 - round * coldSlice - i));
    if (lkBulk) {
      await expectCode(lkBulk.url, warmKeys[warmKeys.length - 1], 'VALID');
      await load(`${lkBulk.url}/v2/keys.verifyKey`, verifyBodies(warmKeys), auth, Math.max(5, Math.ceil(warmKeys.length / 4000)));
    }

    // Scenarios alternate round by round, so a burst of load from elsewhere hits all of them alike.
    for (let round = 0; round < rounds; round++) {
      note(SCENARIOS.baseline, await load(baseline.url, verifyBodies(small.plainKeys)));
      note(SCENARIOS.plain, await load(`${lk.url}/v2/keys.verifyKey`, verifyBodies(small.plainKeys)));
      note(SCENARIOS.limit, await load(`${lk.url}/v2/keys.verifyKey`, verifyBodies(small.limitKeys)));
      note(SCENARIOS.identity, await load(`${lk.url}/v2/keys.verifyKey`, verifyBodies(small.identityKeys)));
      if (lkBulk) {
        note(SCENARIOS.warm, await load(`${lkBulk.url}/v2/keys.verifyKey`, verifyBodies(warmKeys)));
        note(SCENARIOS.warmSame, await load(`${lkBulk.url}/v2/keys.verifyKey`, verifyBodies(sameActive)));
        note(SCENARIOS.cold, await load(`${lkBulk.url}/v2/keys.verifyKey`, verifyBodies(coldKeys(round))));
      }
    }
    note(SCENARIOS.create, await load(`${lk.url}/v2/keys.createKey`, [JSON.stringify({ apiId: small.apiId })], auth, duration, '"key":"'));
  } finally {
    await Promise.all([baseline.proc.stop(), lk.proc.stop(), lkBulk?.proc.stop()]);
  }

  const base = median(measured.get(SCENARIOS.baseline)!);
  const rows: Row[] = [...measured].map(([scenario, results]) => ({
    scenario,
    result: median(results),
    baseline: scenario === SCENARIOS.baseline || scenario === SCENARIOS.create ? undefined : base,
  }));
  const title = `verifyKey, ${loadTool}, ${connections} connections, ${duration} s per run, median of ${rounds} alternating rounds`;
  let text = printTable(title, rows);
  // Ratios of runs made back to back in the same round, whose noise is shared; then their median.
  const perRound = (scenario: string, against: string) => {
    const a = measured.get(scenario) ?? [];
    const b = measured.get(against) ?? [];
    return a.map((r, i) => ({ rps: r.rps / b[i].rps, p99: r.p99 / Math.max(1, b[i].p99) }));
  };
  const lines = ['', '| per-round ratio (median of rounds) | req/s | p99 | rounds (req/s) |', '|---|---:|---:|---|'];
  const comparisons: [string, string, string][] = [
    ['plain key / baseline', SCENARIOS.plain, SCENARIOS.baseline],
    ['identity + limit / baseline', SCENARIOS.limit, SCENARIOS.baseline],
    ['identity + limit + credits / baseline', SCENARIOS.identity, SCENARIOS.baseline],
    [`${bulkCount} keys warm, ${warmCount} active / plain key`, SCENARIOS.warm, SCENARIOS.plain],
    [`${bulkCount} keys warm, 1000 active / plain key`, SCENARIOS.warmSame, SCENARIOS.plain],
    [`${bulkCount} keys cold / plain key`, SCENARIOS.cold, SCENARIOS.plain],
  ];
  for (const [label, scenario, against] of comparisons) {
    const ratios = perRound(scenario, against);
    if (ratios.length === 0) continue;
    lines.push(
      `| ${label} | ${middle(ratios.map((r) => r.rps)).toFixed(2)} | ${middle(ratios.map((r) => r.p99)).toFixed(2)} | ${ratios.map((r) => r.rps.toFixed(2)).join(', ')} |`,
    );
  }
  console.log(lines.join('\n'));
  text += lines.join('\n');
  writeFileSync(join(tmp, 'verify-last.md'), text + '\n');
}

await main();
