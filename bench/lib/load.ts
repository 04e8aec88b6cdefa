import autocannon from 'autocannon';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LoadOptions {
  url: string;
  /** Request bodies; with several, each request takes the next one in turn. */
  bodies: string[];
  headers?: Record<string, string>;
  connections?: number;
  /** Seconds. */
  duration?: number;
  /** Called with every answer and the index in `bodies` of the request it answers. */
  onResponse?: (status: number, body: string, bodyIndex: number) => void;
  /** Text every answer must contain; answers without it are counted in `unexpected` (wrk only). */
  expect?: string;
}

export interface LoadResult {
  requests: number;
  rps: number;
  /** Latencies in ms. */
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** Answers that lacked `expect`. */
  unexpected: number;
}

export type LoadTool = 'wrk' | 'autocannon';

/**
 * The load generator: wrk (C, from the distribution's `wrk` package) when it is installed, as it needs a
 * fraction of autocannon's CPU and so leaves the second core to the server under test; autocannon
 * otherwise. BENCH_LOAD=autocannon or =wrk forces one.
 */
export const loadTool: LoadTool = (() => {
  const forced = process.env.BENCH_LOAD;
  if (forced === 'wrk' || forced === 'autocannon') return forced;
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return 'wrk';
  } catch (error) {
    // wrk --version exits with 1 after printing its version.
    return (error as { status?: number }).status === 1 ? 'wrk' : 'autocannon';
  }
})();

/** Drives POST load at one URL and summarises it; answers are inspected one by one only with autocannon. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  return loadTool === 'wrk' && !options.onResponse ? runWrk(options) : runAutocannon(options);
}

async function runWrk(options: LoadOptions): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-load-'));
  try {
    const bodiesFile = join(dir, 'bodies.txt');
    writeFileSync(bodiesFile, options.bodies.join('\n') + '\n');
    const headers = Object.entries(options.headers ?? {})
      .map(([name, value]) => `${name}: ${value}`)
      .join('\n');
    const args = [
      '-t', String(Number(process.env.BENCH_LOAD_THREADS ?? 1)),
      '-c', String(options.connections ?? 50),
      '-d', `${options.duration ?? 10}s`,
      '--timeout', '10s',
      '-s', join(import.meta.dirname, 'wrk.lua'),
      options.url,
      '--', bodiesFile, options.expect ?? '', headers,
    ];
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile('wrk', args, { maxBuffer: 1 << 20 }, (error, out, err) =>
        error ? reject(new Error(`wrk failed: ${err || error.message}`)) : resolve(out),
      ),
    );
    const line = stdout.split('\n').find((l) => l.startsWith('{"requests"'));
    if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
    const s = JSON.parse(line) as {
      requests: number; durationUs: number; p50Us: number; p99Us: number; errors: number; non2xx: number; unexpected: number;
    };
    return {
      requests: s.requests,
      rps: s.requests / (s.durationUs / 1e6),
      p50: Math.round(s.p50Us / 10) / 100,
      p99: Math.round(s.p99Us / 10) / 100,
      errors: s.errors,
      non2xx: s.non2xx,
      unexpected: s.unexpected,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runAutocannon(options: LoadOptions): Promise<LoadResult> {
  let next = 0;
  const bodies = options.bodies;
  const onResponse = options.onResponse;
  const result = await autocannon({
    url: options.url,
    method: 'POST',
    connections: options.connections ?? 50,
    duration: options.duration ?? 10,
    headers: { 'content-type': 'application/json', ...options.headers },
    requests: [
      {
        // One request is in flight per connection, so the connection's context names the body it carried.
        setupRequest: (req, context) => {
          const index = next++ % bodies.length;
          (context as { bodyIndex?: number }).bodyIndex = index;
          return { ...req, body: bodies[index] };
        },
        ...(onResponse
          ? {
              onResponse: (status: number, body: string, context: object) =>
                onResponse(status, body, (context as { bodyIndex: number }).bodyIndex),
            }
          : {}),
      },
    ],
  });
  return {
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    unexpected: 0,
  };
}

/** The median of some numbers: the middle one, or the mean of the two middle ones of an even count. */
export function middle(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[half] : (sorted[half - 1] + sorted[half]) / 2;
}

/** The median of each figure over repeated runs of one scenario; errors are summed. */
export function median(results: LoadResult[]): LoadResult {
  return {
    requests: middle(results.map((r) => r.requests)),
    rps: middle(results.map((r) => r.rps)),
    p50: middle(results.map((r) => r.p50)),
    p99: middle(results.map((r) => r.p99)),
    errors: results.reduce((n, r) => n + r.errors, 0),
    non2xx: results.reduce((n, r) => n + r.non2xx, 0),
    unexpected: results.reduce((n, r) => n + r.unexpected, 0),
  };
}

export interface Row {
  scenario: string;
  result: LoadResult;
  /** Result to compare against, printed as ratios. */
  baseline?: LoadResult;
}

/** Prints a markdown table: req/s, p50, p99 and the ratios to the baseline of each row. */
export function printTable(title: string, rows: Row[]): string {
  const lines = [
    `### ${title}`,
    '',
    '| scenario | req/s | p50 ms | p99 ms | non-2xx or unexpected | req/s ratio | p99 ratio |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { scenario, result, baseline } of rows) {
    const ratio = baseline ? (result.rps / baseline.rps).toFixed(2) : '';
    const p99Ratio = baseline ? (result.p99 / Math.max(baseline.p99, 1)).toFixed(2) : '';
    lines.push(
      `| ${scenario} | ${Math.round(result.rps)} | ${result.p50} | ${result.p99} | ${result.non2xx + result.errors + result.unexpected} | ${ratio} | ${p99Ratio} |`,
    );
  }
  const text = lines.join('\n');
  console.log(`\n${text}\n`);
  return text;
}
