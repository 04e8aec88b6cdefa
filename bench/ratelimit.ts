/**
 * ratelimit.limit over HTTP against two baselines, in one run and under the same load:
 *   1. a bare node:http server (bench/lib/baselineServer.ts), the ceiling for any HTTP service here;
 *   2. the same bare server calling rate-limiter-flexible's in-memory limiter per request;
 *   3. Latchkey (its own process, SQLite, in-memory counters) serving POST /v2/ratelimit.limit.
 * Every run sends the same bodies: many identifiers, most with a roomy limit and every tenth with a tight
 * one, so most calls succeed and some are limited. Afterwards Latchkey's counters are read back and checked
 * against the answers the client received: tight identifiers must have admitted exactly their limit.
 * Usage: npm run bench:ratelimit   (BENCH_DURATION=<seconds>, default 10)
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printTable, runLoad, type LoadResult } from './lib/load.ts';
import { spawnUntil, type Spawned } from './lib/process.ts';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = 50;
const IDENTIFIERS = 2000;
const TIGHT_LIMIT = 20;
const ROOMY_LIMIT = 1_000_000;
// One day: rate-limiter-flexible keeps a timer per key, and Node timers stop at 2^31 ms.
const WINDOW = 86_400_000;
const NAMESPACE = 'bench';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = ['--import', 'tsx'];

/**
 * The body list: every roomy identifier once, and after every tenth a tight one, cycling over few tight
 * identifiers so each of them is asked far more often than its limit allows.
 */
const TIGHT_IDENTIFIERS = 20;
function workload(namespace: string): { bodies: string[]; identifiers: string[] } {
  const bodies: string[] = [];
  const identifiers: string[] = [];
  const add = (identifier: string, limit: number) => {
    identifiers.push(identifier);
    bodies.push(JSON.stringify({ namespace, identifier, limit, duration: WINDOW }));
  };
  for (let i = 0; i < IDENTIFIERS; i++) {
    add(`user_${i}`, ROOMY_LIMIT);
    if (i % 10 === 9) add(`tight_${(i - 9) / 10 % TIGHT_IDENTIFIERS}`, TIGHT_LIMIT);
  }
  return { bodies, identifiers };
}

function portFrom(server: Spawned, pattern: RegExp): number {
  for (const line of server.output) {
    const m = pattern.exec(line);
    if (m) return Number(m[1]);
  }
  throw new Error(`no port in the output of ${server.child.spawnargs.join(' ')}`);
}

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
  pid: number;
  /** CPU time the server process spent in the measured rounds, in clock ticks, and the requests it answered. */
  cpu: { ticks: number; requests: number };
}

/** User plus system CPU time of a process so far, in clock ticks (Linux); undefined elsewhere. */
function cpuTicks(pid: number): number | undefined {
  const path = `/proc/${pid}/stat`;
  if (!existsSync(path)) return undefined;
  const fields = readFileSync(path, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}
const TICKS_PER_SECOND = 100;

/** Admitted answers per body index, summed over every measured round of one target. */
type Admitted = number[];

async function round(target: Target, bodies: string[], admitted: Admitted): Promise<LoadResult> {
  let failure: string | undefined;
  const before = cpuTicks(target.pid);
  const result = await runLoad({
    url: target.url,
    headers: target.headers,
    bodies,
    connections: CONNECTIONS,
    duration: DURATION,
    onResponse: (status, body, index) => {
      if (status === 200 && body.includes('"success":true')) admitted[index]++;
      else if (status !== 200 && !failure) failure = `${status} ${body.slice(0, 300)}`;
    },
  });
  const after = cpuTicks(target.pid);
  if (before !== undefined && after !== undefined) {
    target.cpu.ticks += after - before;
    target.cpu.requests += result.requests;
  }
  if (failure) console.error(`first failed answer from ${target.name}: ${failure}`);
  console.log(`${target.name}: ${Math.round(result.rps)} req/s, p99 ${result.p99} ms`);
  return result;
}

async function bare(script: string): Promise<{ server: Spawned; url: string }> {
  const server = await spawnUntil(process.execPath, [...tsx, join(root, 'bench/lib', script), '0'], /^listening \d+/);
  return { server, url: `http://127.0.0.1:${portFrom(server, /^listening (\d+)/)}` };
}

/** Reads a counter exactly: a free call under a limit far above any count reports limit − count. */
async function counter(target: Target, identifier: string): Promise<number> {
  const probeLimit = 1_000_000_000;
  const res = await fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: JSON.stringify({ namespace: NAMESPACE, identifier, limit: probeLimit, duration: WINDOW, cost: 0 }),
  });
  const body = (await res.json()) as { data: { remaining: number } };
  return probeLimit - body.data.remaining;
}

/** Compares Latchkey's counters with the admitted answers the client saw, identifier by identifier. */
async function verify(target: Target, identifiers: string[], admitted: Admitted): Promise<string[]> {
  const seenBy = new Map<string, number>();
  identifiers.forEach((id, i) => seenBy.set(id, (seenBy.get(id) ?? 0) + admitted[i]));
  const ids = [...seenBy.keys()];
  const counts = new Map<string, number>();
  for (let i = 0; i < ids.length; i += CONNECTIONS) {
    const slice = ids.slice(i, i + CONNECTIONS);
    const values = await Promise.all(slice.map((id) => counter(target, id)));
    slice.forEach((id, k) => counts.set(id, values[k]));
  }
  const problems: string[] = [];
  let counted = 0;
  let seen = 0;
  for (const id of ids) {
    const c = counts.get(id)!;
    const s = seenBy.get(id)!;
    counted += c;
    seen += s;
    if (id.startsWith('tight_') && c !== TIGHT_LIMIT) problems.push(`${id}: counted ${c}, limit ${TIGHT_LIMIT}`);
    if (c < s) problems.push(`${id}: ${s} admitted answers but only ${c} counted`);
  }
  // The only admitted calls the client may not have seen are those in flight when a round stopped.
  const inFlight = CONNECTIONS * ROUNDS;
  if (counted - seen > inFlight) problems.push(`${counted - seen} counted calls were never answered`);
  console.log(
    `verify: client saw ${seen} admitted answers; counters hold ${counted} ` +
      `(${counted - seen} in flight when rounds stopped, at most ${inFlight}); ` +
      `every tight identifier admitted exactly ${TIGHT_LIMIT}: ${problems.length === 0 ? 'yes' : 'NO'}`,
  );
  return problems;
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** The better of the rounds: on a shared machine the slower one measures the neighbours, not the server. */
function best(results: LoadResult[]): LoadResult {
  return results.reduce((a, b) => (b.rps > a.rps ? b : a));
}

async function main(): Promise<void> {
  const { bodies, identifiers } = workload(NAMESPACE);
  const warmup = workload('bench-warmup').bodies;
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
  const started: Spawned[] = [];
  try {
    const baseline = await bare('baselineServer.ts');
    started.push(baseline.server);
    const flexible = await bare('flexibleServer.ts');
    started.push(flexible.server);
    const latchkey = await spawnUntil(
      process.execPath,
      [join(root, 'bin/latchkey'), 'serve', '--port', '0', '--database-url', `sqlite:${join(dir, 'bench.db')}`],
      /Server listening at/,
      { LATCHKEY_LOG_LEVEL: 'info', LATCHKEY_REDIS_URL: '' },
    );
    started.push(latchkey);
    const rootKey = latchkey.output.map((l) => l.trim()).find((l) => l.startsWith('lk_root_'));
    if (!rootKey) throw new Error('the server printed no root key on its first start');
    const lkPort = portFrom(latchkey, /listening at http:\/\/127\.0\.0\.1:(\d+)/);

    const targets: Target[] = [
      { name: 'bare node:http', url: baseline.url, headers: {}, pid: baseline.server.child.pid!, cpu: { ticks: 0, requests: 0 } },
      {
        name: 'node:http + rate-limiter-flexible',
        url: flexible.url,
        headers: {},
        pid: flexible.server.child.pid!,
        cpu: { ticks: 0, requests: 0 },
      },
      {
        name: 'Latchkey ratelimit.limit',
        url: `http://127.0.0.1:${lkPort}/v2/ratelimit.limit`,
        headers: { authorization: `Bearer ${rootKey}` },
        pid: latchkey.child.pid!,
        cpu: { ticks: 0, requests: 0 },
      },
    ];
    for (const t of targets) {
      await runLoad({ url: t.url, headers: t.headers, bodies: warmup, connections: CONNECTIONS, duration: 2 });
    }
    const admitted = targets.map(() => new Array<number>(bodies.length).fill(0));
    const results: LoadResult[][] = targets.map(() => []);
    const windowBefore = Math.floor(Date.now() / WINDOW);
    // Rounds alternate between the servers, so a busy spell on the machine does not favour one of them.
    for (let r = 0; r < ROUNDS; r++) {
      for (let t = 0; t < targets.length; t++) results[t].push(await round(targets[t], bodies, admitted[t]));
    }
    if (Math.floor(Date.now() / WINDOW) !== windowBefore) throw new Error('the run crossed a window boundary; run it again');
    const problems = await verify(targets[2], identifiers, admitted[2]);

    const [base, flex, lk] = results.map(best);
    printTable(
      `ratelimit.limit, ${CONNECTIONS} connections, ${DURATION} s per round, best of ${ROUNDS} rounds, ${identifiers.length} bodies`,
      [
        { scenario: 'bare node:http', result: base },
        { scenario: 'node:http + rate-limiter-flexible (vs bare)', result: flex, baseline: base },
        { scenario: 'Latchkey ratelimit.limit (vs rate-limiter-flexible)', result: lk, baseline: flex },
        { scenario: 'Latchkey ratelimit.limit (vs bare)', result: lk, baseline: base },
      ],
    );
    results[2].forEach((r, i) =>
      console.log(
        `round ${i + 1}: Latchkey ${Math.round(r.rps)} req/s = ${(r.rps / results[1][i].rps).toFixed(2)}× rate-limiter-flexible, ` +
          `${(r.rps / results[0][i].rps).toFixed(2)}× bare`,
      ),
    );
    // Server CPU per answered request does not depend on how busy the rest of the machine was.
    for (const t of targets) {
      if (t.cpu.requests === 0) continue;
      const micros = (t.cpu.ticks / TICKS_PER_SECOND / t.cpu.requests) * 1e6;
      console.log(`server CPU per request, ${t.name}: ${micros.toFixed(1)} µs`);
    }
    const ratio = lk.rps / flex.rps;
    console.log(
      `target ≥ 0.80× rate-limiter-flexible: ${ratio.toFixed(2)}× ${ratio >= 0.8 ? 'met' : 'NOT met'}; ` +
        `${(lk.rps / base.rps).toFixed(2)}× bare; p99 ${lk.p99} ms vs ${flex.p99} ms (flexible) and ${base.p99} ms (bare)`,
    );
    const failed = results[2].reduce((n, r) => n + r.non2xx + r.errors, 0);
    if (failed > 0) problems.push(`${failed} failed requests`);
    if (problems.length > 0) {
      console.error(problems.slice(0, 20).join('\n'));
      process.exitCode = 1;
    }
  } finally {
    for (const s of started) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
