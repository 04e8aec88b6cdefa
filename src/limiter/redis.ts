import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { BatchResult, LimitRequest, LimitResult, RateLimiter } from './types.ts';

const SCRIPT = readFileSync(new URL('./slidingWindow.lua', import.meta.url), 'utf8');

type WindowCommand = (numKeys: number, ...args: (string | number)[]) => Promise<number[]>;

export interface RedisLimiterOptions {
  /** Put before every counter key, so several deployments (or test runs) can share one Redis. */
  prefix?: string;
}

/**
 * Counters in Redis, shared by every node: each batch is one script call that reads, decides and
 * writes all its counters atomically, so limits stay exact across nodes.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(url: string, options: RedisLimiterOptions = {}) {
    this.prefix = options.prefix ?? 'latchkey:';
    // Auto-pipelining sends the checks of concurrent requests in one write: fewer syscalls under load.
    this.redis = new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 2 });
    this.redis.defineCommand('slidingWindow', { lua: SCRIPT });
    this.redis.on('error', () => {
      // Connection errors surface on the calls that need Redis; ioredis reconnects by itself.
    });
  }

  async check(requests: LimitRequest[], now: number): Promise<BatchResult> {
    const args: (string | number)[] = new Array(requests.length * 4 + 1);
    const n = requests.length;
    for (let i = 0; i < n; i++) {
      const r = requests[i];
      args[i] = `${this.prefix}${r.key}:${r.duration}`;
      args[n + 1 + 3 * i] = r.limit;
      args[n + 2 + 3 * i] = r.duration;
      args[n + 3 + 3 * i] = r.cost;
    }
    args[n] = now;
    const reply = await (this.redis as unknown as { slidingWindow: WindowCommand }).slidingWindow(n, ...args);
    const results: LimitResult[] = new Array(n);
    for (let i = 0; i < n; i++) {
      results[i] = {
        allowed: reply[1 + 3 * i] === 1,
        limit: requests[i].limit,
        remaining: reply[2 + 3 * i],
        reset: reply[3 + 3 * i],
      };
    }
    return { passed: reply[0] === 1, results };
  }

  async reset(keyPrefix: string): Promise<void> {
    let cursor = '0';
    const pattern = `${this.prefix}${keyPrefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length > 0) await this.redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
