/**
 * The second baseline of the rate-limit benchmark: the bare node:http server of baselineServer.ts, calling
 * rate-limiter-flexible's in-memory limiter per request with the body of a ratelimit.limit call and
 * answering in the same shape. One limiter per (limit, duration) pair, as that library needs.
 * Usage: node --import tsx bench/lib/flexibleServer.ts <port>
 */
import { createServer } from 'node:http';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

const port = Number(process.argv[2] ?? 0);
const limiters = new Map<string, RateLimiterMemory>();

function limiterFor(limit: number, durationMs: number): RateLimiterMemory {
  const key = `${limit}:${durationMs}`;
  let limiter = limiters.get(key);
  if (!limiter) {
    limiter = new RateLimiterMemory({ points: limit, duration: Math.max(1, Math.round(durationMs / 1000)) });
    limiters.set(key, limiter);
  }
  return limiter;
}

interface LimitBody {
  namespace: string;
  identifier: string;
  limit: number;
  duration: number;
  cost?: number;
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let body: LimitBody;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString());
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad json"}');
      return;
    }
    const answer = (success: boolean, r: RateLimiterRes) => {
      const data = { limit: body.limit, remaining: r.remainingPoints, reset: Date.now() + r.msBeforeNext, success };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ meta: { requestId: 'req_0' }, data }));
    };
    limiterFor(body.limit, body.duration)
      .consume(`${body.namespace}:${body.identifier}`, body.cost ?? 1)
      .then(
        (r) => answer(true, r),
        (r) => {
          if (r instanceof RateLimiterRes) answer(false, r);
          else res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"limiter failed"}');
        },
      );
  });
});
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
