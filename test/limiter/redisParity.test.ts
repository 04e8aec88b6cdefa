import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { MemoryRateLimiter } from '../../src/limiter/memory.ts';
import { RedisRateLimiter } from '../../src/limiter/redis.ts';
import type { LimitRequest } from '../../src/limiter/types.ts';
import { randomAlphanumeric } from '../../src/core/ids.ts';
import { REDIS_URL } from '../harness.ts';

/** A small deterministic generator, so a failing sequence can be replayed from its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('the Redis limiter answers exactly like the in-memory limiter and the pure window', () => {
  const prefix = `latchkey-test-${randomAlphanumeric(10)}:`;
  let redis: RedisRateLimiter;
  before(() => {
    redis = new RedisRateLimiter(REDIS_URL, { prefix });
  });
  after(async () => {
    await redis.reset('');
    await redis.close();
    const raw = new Redis(REDIS_URL);
    const left = await raw.keys(`${prefix}*`);
    await raw.quit();
    assert.deepEqual(left, [], 'the test prefix was cleaned up');
  });

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`agrees on every answer of random sequence ${seed}`, async () => {
      const random = prng(seed);
      const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
      const memory = new MemoryRateLimiter(3_600_000);
      const keys = ['a', 'b', 'c'].map((k) => `seq${seed}:${k}`);
      const durations = [1000, 2500, 60_000];
      let now = 1_700_000_000_000 + Math.floor(random() * 100_000);
      let denials = 0;
      let rollovers = 0;
      try {
        for (let step = 0; step < 400; step++) {
          const jump = random();
          const before = now;
          // Mostly small steps within a window, sometimes into the next one, rarely far past both; now and then
          // a stamp from before the last one, as when a slower request or a lagging node's check arrives late.
          if (jump < 0.1) now -= Math.floor(random() * 1500);
          else now += jump < 0.7 ? Math.floor(random() * 200) : jump < 0.97 ? Math.floor(random() * 2500) : 200_000;
          if (Math.floor(now / 1000) !== Math.floor(before / 1000)) rollovers++;
          const batch: LimitRequest[] = Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({
            key: pick(keys),
            duration: pick(durations),
            limit: Math.floor(random() * 12),
            cost: pick([0, 1, 1, 1, 2, 5]),
          }));
          const expected = memory.checkNow(batch, now);
          const actual = await redis.check(batch, now);
          assert.deepEqual(actual, expected, `seed ${seed}, step ${step}, now ${now}, batch ${JSON.stringify(batch)}`);
          if (!expected.passed) denials++;
        }
      } finally {
        await memory.close();
      }
      // The sequence must exercise both outcomes and window roll-overs, or it proves little.
      assert.ok(denials > 20 && denials < 380, `denials ${denials}`);
      assert.ok(rollovers > 20, `rollovers ${rollovers}`);
    });
  }

  it('judges a stamp from before the counter’s window in that window, as the in-memory limiter does', async () => {
    const request: LimitRequest = { key: 'stale', duration: 1000, limit: 2, cost: 1 };
    assert.ok((await redis.check([request], 5_000_100)).passed);
    assert.ok((await redis.check([request], 5_000_200)).passed);
    const stale = await redis.check([request, { ...request, key: 'stale-other' }], 4_999_900);
    assert.equal(stale.passed, false);
    assert.equal(stale.results[0].reset, 5_001_000);
    assert.equal((await redis.check([request], 5_000_300)).passed, false);
  });

  it('agrees on counts near 2^53', async () => {
    const memory = new MemoryRateLimiter(3_600_000);
    const big = Number.MAX_SAFE_INTEGER - 10;
    const batch: LimitRequest[] = [{ key: 'big', duration: 2_592_000_000, limit: Number.MAX_SAFE_INTEGER, cost: big }];
    const now = 1_700_000_000_123;
    for (let i = 0; i < 3; i++) {
      const step: LimitRequest[] = i === 0 ? batch : [{ ...batch[0], cost: 7 }];
      assert.deepEqual(await redis.check(step, now + i), memory.checkNow(step, now + i));
    }
    await memory.close();
  });
});
