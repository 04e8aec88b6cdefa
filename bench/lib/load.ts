import autocannon from 'autocannon';

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
}

export interface LoadResult {
  requests: number;
  rps: number;
  /** Latencies in ms. */
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** Drives POST load at one URL with autocannon and summarises it. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
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
  };
}

/** The median of each figure over repeated runs of one scenario; errors are summed. */
export function median(results: LoadResult[]): LoadResult {
  const mid = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  };
  return {
    requests: mid(results.map((r) => r.requests)),
    rps: mid(results.map((r) => r.rps)),
    p50: mid(results.map((r) => r.p50)),
    p99: mid(results.map((r) => r.p99)),
    errors: results.reduce((n, r) => n + r.errors, 0),
    non2xx: results.reduce((n, r) => n + r.non2xx, 0),
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
    '| scenario | req/s | p50 ms | p99 ms | non-2xx | req/s ratio | p99 ratio |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { scenario, result, baseline } of rows) {
    const ratio = baseline ? (result.rps / baseline.rps).toFixed(2) : '';
    const p99Ratio = baseline ? (result.p99 / Math.max(baseline.p99, 1)).toFixed(2) : '';
    lines.push(
      `| ${scenario} | ${Math.round(result.rps)} | ${result.p50} | ${result.p99} | ${result.non2xx + result.errors} | ${ratio} | ${p99Ratio} |`,
    );
  }
  const text = lines.join('\n');
  console.log(`\n${text}\n`);
  return text;
}
