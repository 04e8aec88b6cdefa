import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryRateLimiter } from '../../src/limiter/memory.ts';
import type { LimitRequest } from '../../src/limiter/types.ts';

describe('the in-memory limiter', () => {
  it('counts requests stamped before the counter’s window against that window, never a fresh one', () => {
    const limiter = new MemoryRateLimiter(3_600_000);
    const duration = 60_000;
    const boundary = 28_333_334 * duration;
    const request: LimitRequest = { key: 'org', duration, limit: 10, cost: 1 };
    let allowed = 0;
    for (let i = 0; i < 10; i++) if (limiter.checkNow([request], boundary - 500 + i).passed) allowed++;
    assert.equal(allowed, 10);
    // Requests take different times to reach the limiter, so stamps on both sides of the boundary interleave.
    const late: boolean[] = [];
    for (let i = 0; i < 50; i++) {
      const stamp = i % 2 === 0 ? boundary + 5 + i : boundary - 100 + i;
      late.push(limiter.checkNow([request], stamp).passed);
      const batch = limiter.checkNow([request, { ...request, key: 'other' }], stamp);
      late.push(batch.passed);
    }
    // Just after the boundary the previous window weighs floor(10 × 0.9999) = 9, so one more is admitted.
    assert.equal(late.filter(Boolean).length, 1);
    void limiter.close();
  });

  it('keeps a counter written by a later stamp when an earlier stamp is denied', () => {
    const limiter = new MemoryRateLimiter(3_600_000);
    const request: LimitRequest = { key: 'k', duration: 1000, limit: 2, cost: 1 };
    assert.ok(limiter.checkNow([request], 5_000_100).passed);
    assert.ok(limiter.checkNow([request], 5_000_200).passed);
    const stale = limiter.checkNow([request], 4_999_900);
    assert.equal(stale.passed, false);
    // Judged at the start of the newer window: its reset is that window's end, not the older one's.
    assert.equal(stale.results[0].reset, 5_001_000);
    assert.equal(limiter.checkNow([request], 5_000_300).passed, false);
    void limiter.close();
  });

  it('admits at most the limit per window however late the stamps of two windows arrive', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        // Stamps from the two windows either side of a boundary, in arrival order, each a little out of order.
        fc.array(fc.integer({ min: -1_000, max: 999 }), { minLength: 1, maxLength: 200 }),
        (limit, offsets) => {
          const limiter = new MemoryRateLimiter(3_600_000);
          const duration = 1_000;
          const boundary = 5_000_000;
          let admitted = 0;
          for (const offset of offsets) {
            if (limiter.checkNow([{ key: 'k', duration, limit, cost: 1 }], boundary + offset).passed) admitted++;
          }
          void limiter.close();
          assert.ok(admitted <= 2 * limit, `admitted ${admitted} with a limit of ${limit} over two windows`);
        },
      ),
      { numRuns: 300 },
    );
  });
});
