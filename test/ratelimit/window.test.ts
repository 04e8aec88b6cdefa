import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeOnBackends } from '../routes.ts';

/** The server's clock: tests move it to exact points of a window. */
let now = 0;
const DURATION = 10_000;
/** The start of a window well in the future of any real clock, so no earlier test state can interfere. */
let windowStart = 2_000_000_000_000;

let n = 0;
await describeOnBackends(
  'sliding window over HTTP',
  (server) => {
    const limit = async (namespace: string, limit: number, cost?: number) => {
      const res = await server().call('ratelimit.limit', {
        namespace,
        identifier: 'who',
        limit,
        duration: DURATION,
        ...(cost === undefined ? {} : { cost }),
      });
      assert.equal(res.status, 200);
      return res.body.data as { success: boolean; remaining: number; reset: number; limit: number };
    };
    const fresh = () => {
      windowStart += 100 * DURATION;
      now = windowStart;
      return `window-${++n}`;
    };

    describe('200', () => {
      it('fills a window, resets at its end, and weighs the previous window by its overlap', async () => {
        const ns = fresh();
        now = windowStart + 1000;
        for (const remaining of [2, 1, 0]) assert.deepEqual(await limit(ns, 3), { limit: 3, remaining, reset: windowStart + DURATION, success: true });
        assert.deepEqual(await limit(ns, 3), { limit: 3, remaining: 0, reset: windowStart + DURATION, success: false });
        // At the first instant of the next window the previous one still counts in full: 3 + 1 > 3.
        now = windowStart + DURATION;
        assert.deepEqual(await limit(ns, 3), { limit: 3, remaining: 0, reset: windowStart + 2 * DURATION, success: false });
        // Half way through, floor(3 × 0.5) = 1 of it still counts: 1 + 1 ≤ 3.
        now = windowStart + DURATION + DURATION / 2;
        assert.deepEqual(await limit(ns, 3), { limit: 3, remaining: 1, reset: windowStart + 2 * DURATION, success: true });
        // Two windows later nothing of the past remains.
        now = windowStart + 3 * DURATION;
        assert.equal((await limit(ns, 3)).remaining, 2);
      });

      it('weighs the previous bucket: 10 used, 30% into the next window 7 still count', async () => {
        const ns = fresh();
        for (let i = 0; i < 10; i++) assert.equal((await limit(ns, 10)).success, true);
        now = windowStart + DURATION + 3000;
        assert.deepEqual(
          [await limit(ns, 10), await limit(ns, 10), await limit(ns, 10)].map((r) => [r.success, r.remaining]),
          [[true, 2], [true, 1], [true, 0]],
        );
        assert.equal((await limit(ns, 10)).success, false);
        // 10% further on floor(10 × 0.6) = 6 count, plus the 3 of this window: one more fits.
        now = windowStart + DURATION + 4000;
        assert.deepEqual(await limit(ns, 10), { limit: 10, remaining: 0, reset: windowStart + 2 * DURATION, success: true });
        assert.equal((await limit(ns, 10)).success, false);
      });

      it('denies a cost above the limit and charges nothing for it', async () => {
        const ns = fresh();
        assert.deepEqual(await limit(ns, 10, 11), { limit: 10, remaining: 0, reset: windowStart + DURATION, success: false });
        assert.deepEqual(await limit(ns, 10, 10), { limit: 10, remaining: 0, reset: windowStart + DURATION, success: true });
      });

      it('lets a cost of 0 pass at exactly full, and nothing more', async () => {
        const ns = fresh();
        assert.equal((await limit(ns, 5, 5)).remaining, 0);
        assert.deepEqual(await limit(ns, 5, 0), { limit: 5, remaining: 0, reset: windowStart + DURATION, success: true });
        assert.equal((await limit(ns, 5, 1)).success, false);
        assert.equal((await limit(ns, 5, 0)).success, true);
      });
    });
  },
  { clock: () => now },
);
